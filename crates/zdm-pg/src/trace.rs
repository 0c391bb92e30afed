//! Lock tracing: run a migration's statements on a scratch database of the same server and
//! record, per statement, the relation locks it takes (`pg_locks`) and the tables and indexes it
//! rewrites (`relfilenode` changes). This is the ground truth `zdm lint --trace` sets beside the
//! static verdict.
//!
//! Each statement runs in a transaction of its own, so the locks seen are exactly that
//! statement's; what a one-transaction file would hold at each point is the union of the locks of
//! the statements before it ([`StatementTrace::held_before`]). Statements that cannot run in a
//! transaction (`CONCURRENTLY`) are observed from a second session while a third one holds a
//! snapshot and light locks that make them wait: a waiting statement has already taken its own
//! locks, so they can be read without racing it. The scratch database is dropped at the end.

use crate::connect::ConnectionSpec;
use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use tokio_postgres::Client;
use zdm_core::ident::quote_ident;
use zdm_core::sql::{split_statements, Statement};

/// A relation lock a statement took.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct LockTaken {
    /// `schema.relation` as `regclass` prints it.
    pub relation: String,
    /// `r` table, `i` index, `p` partitioned table, …
    pub kind: String,
    /// The lock mode in SQL words (`ACCESS EXCLUSIVE`).
    pub mode: String,
}

impl LockTaken {
    /// What the mode stops an application from doing on the relation while it is held.
    pub fn blocks(&self) -> &'static str {
        blocks(&self.mode)
    }
}

/// What a lock mode (SQL words) blocks of ordinary application traffic.
pub fn blocks(mode: &str) -> &'static str {
    match mode {
        "ACCESS EXCLUSIVE" => "reads and writes",
        "EXCLUSIVE" => "writes and SELECT … FOR UPDATE/SHARE",
        "SHARE ROW EXCLUSIVE" | "SHARE" => "writes",
        _ => "nothing the application does",
    }
}

/// Rank of a lock mode (SQL words), weakest first, as PostgreSQL's conflict table orders them.
pub fn strength(mode: &str) -> u8 {
    match mode {
        "ACCESS SHARE" => 1,
        "ROW SHARE" => 2,
        "ROW EXCLUSIVE" => 3,
        "SHARE UPDATE EXCLUSIVE" => 4,
        "SHARE" => 5,
        "SHARE ROW EXCLUSIVE" => 6,
        "EXCLUSIVE" => 7,
        "ACCESS EXCLUSIVE" => 8,
        _ => 0,
    }
}

/// Whether application reads or writes wait while the lock is held.
pub fn blocks_application(mode: &str) -> bool {
    matches!(
        mode,
        "ACCESS EXCLUSIVE" | "EXCLUSIVE" | "SHARE ROW EXCLUSIVE" | "SHARE"
    )
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StatementTrace {
    /// 0-based index of the statement in its file.
    pub index: usize,
    /// Byte offset of the statement in its file.
    pub offset: usize,
    pub line: usize,
    pub column: usize,
    pub sql: String,
    pub outside_transaction: bool,
    /// The relation locks the statement took (system catalogs left out).
    pub locks: Vec<LockTaken>,
    /// Relations whose storage was rewritten (new relfilenode).
    pub rewrites: Vec<String>,
    /// Relations that existed before this file (not created by an earlier statement of it).
    pub preexisting: Vec<String>,
    /// Relations this statement created (their locks concern nobody else).
    pub created: Vec<String>,
    /// Locks a single transaction running the whole file would already hold here.
    pub held_before: Vec<LockTaken>,
    /// The server's error, when the statement failed (later statements are not run).
    pub error: Option<String>,
}

impl StatementTrace {
    /// The strongest lock the statement took on each relation, by relation.
    pub fn strongest(&self) -> BTreeMap<String, &LockTaken> {
        let mut out: BTreeMap<String, &LockTaken> = BTreeMap::new();
        for l in &self.locks {
            let e = out.entry(l.relation.clone()).or_insert(l);
            if strength(&l.mode) > strength(&e.mode) {
                *e = l;
            }
        }
        out
    }
}

/// A database created for a trace and dropped afterwards.
pub struct Scratch {
    admin: Client,
    pub name: String,
    pub spec: ConnectionSpec,
}

impl Scratch {
    /// Create an empty database on the server `spec` points at.
    pub async fn create(spec: &ConnectionSpec) -> Result<Scratch> {
        let admin = spec.connect("zdm lint --trace").await?;
        let name = format!(
            "zdm_trace_{}_{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        admin
            .batch_execute(&format!("CREATE DATABASE {}", quote_ident(&name)))
            .await
            .map_err(|e| Error::Db(format!("creating the scratch database {name}: {e}")))?;
        Ok(Scratch {
            spec: spec.with_dbname(&name),
            admin,
            name,
        })
    }

    pub async fn connect(&self) -> Result<Client> {
        Ok(self.spec.connect("zdm lint --trace").await?)
    }

    /// Drop the database, disconnecting whatever still uses it.
    pub async fn drop(self) -> Result<()> {
        self.admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&self.name)
            ))
            .await?;
        Ok(())
    }
}

const USER_RELATIONS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";

/// relfilenode of every user table, index and materialized view, by `regclass` text.
async fn storage(c: &Client) -> Result<BTreeMap<String, u32>> {
    let rows = c
        .query(
            &format!(
                "SELECT c.oid::regclass::text, c.relfilenode FROM pg_class c \
                   JOIN pg_namespace n ON n.oid = c.relnamespace \
                  WHERE c.relkind IN ('r', 'i', 'm', 't') AND c.relfilenode <> 0 AND {USER_RELATIONS}"
            ),
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get::<_, String>(0),
                r.get::<_, tokio_postgres::types::Oid>(1),
            )
        })
        .collect())
}

fn locks_sql(pid_clause: &str) -> String {
    format!(
        "SELECT l.relation::regclass::text, c.relkind::text, l.mode FROM pg_locks l \
           JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace \
          WHERE l.locktype = 'relation' AND l.granted AND l.database = \
                (SELECT oid FROM pg_database WHERE datname = current_database()) \
            AND {pid_clause} AND {USER_RELATIONS}"
    )
}

fn mode_words(mode: &str) -> String {
    // pg_locks says `ShareRowExclusiveLock`; people and docs say `SHARE ROW EXCLUSIVE`.
    let bare = mode.strip_suffix("Lock").unwrap_or(mode);
    let mut out = String::new();
    for (i, ch) in bare.char_indices() {
        if ch.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

fn to_locks(rows: &[tokio_postgres::Row]) -> Vec<LockTaken> {
    let mut set: BTreeSet<LockTaken> = BTreeSet::new();
    for r in rows {
        set.insert(LockTaken {
            relation: r.get(0),
            kind: r.get(1),
            mode: mode_words(r.get::<_, &str>(2)),
        });
    }
    set.into_iter().collect()
}

/// Run `text` (one migration file's SQL) on `scratch` statement by statement and trace each.
/// Stops at the first failing statement (its error is recorded).
pub async fn trace_sql(scratch: &Scratch, text: &str) -> Result<Vec<StatementTrace>> {
    let c = scratch.connect().await?;
    let before_file: BTreeSet<String> = storage(&c).await?.into_keys().collect();
    let mut held: BTreeSet<LockTaken> = BTreeSet::new();
    let mut out = Vec::new();
    for (index, st) in split_statements(text)
        .into_iter()
        .filter(|s| !s.is_transaction_control())
        .enumerate()
    {
        let before = storage(&c).await?;
        let outside = st.must_run_outside_transaction();
        let (locks, error) = if outside {
            observe_concurrent(scratch, &c, &st).await?
        } else {
            in_own_transaction(&c, &st).await?
        };
        let after = storage(&c).await?;
        let rewrites = before
            .iter()
            .filter(|(rel, node)| after.get(*rel).is_some_and(|n| n != *node))
            .map(|(rel, _)| rel.clone())
            .collect();
        let preexisting = locks
            .iter()
            .map(|l| l.relation.clone())
            .filter(|r| before_file.contains(r))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let created = after
            .keys()
            .filter(|rel| !before.contains_key(*rel))
            .cloned()
            .collect();
        let failed = error.is_some();
        out.push(StatementTrace {
            index,
            offset: st.offset,
            line: st.line,
            column: st.column,
            sql: st.text.clone(),
            outside_transaction: outside,
            held_before: held.iter().cloned().collect(),
            locks: locks.clone(),
            rewrites,
            preexisting,
            created,
            error,
        });
        held.extend(locks);
        if failed {
            break;
        }
    }
    Ok(out)
}

async fn in_own_transaction(
    c: &Client,
    st: &Statement,
) -> Result<(Vec<LockTaken>, Option<String>)> {
    c.batch_execute("BEGIN").await?;
    if let Err(e) = c.batch_execute(&st.text).await {
        c.batch_execute("ROLLBACK").await?;
        return Ok((Vec::new(), Some(db_message(&e))));
    }
    let rows = c.query(&locks_sql("l.pid = pg_backend_pid()"), &[]).await?;
    c.batch_execute("COMMIT").await?;
    Ok((to_locks(&rows), None))
}

/// A CONCURRENTLY statement runs on its own session while `holder` keeps a snapshot and an
/// ACCESS SHARE lock on every user table (what CONCURRENTLY waits out), and `c` reads the
/// runner's granted locks once it waits; then the holder lets go.
async fn observe_concurrent(
    scratch: &Scratch,
    c: &Client,
    st: &Statement,
) -> Result<(Vec<LockTaken>, Option<String>)> {
    let holder = scratch.connect().await?;
    let runner = scratch.connect().await?;
    let pid: i32 = runner
        .query_one("SELECT pg_backend_pid()", &[])
        .await?
        .get(0);
    holder
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .await?;
    let tables = holder
        .query(
            &format!(
                "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c \
                   JOIN pg_namespace n ON n.oid = c.relnamespace \
                  WHERE c.relkind IN ('r', 'p', 'm') AND {USER_RELATIONS}"
            ),
            &[],
        )
        .await?;
    for t in &tables {
        holder
            .batch_execute(&format!(
                "LOCK TABLE {} IN ACCESS SHARE MODE",
                t.get::<_, String>(0)
            ))
            .await?;
    }
    let sql = st.text.clone();
    let run = tokio::spawn(async move { runner.batch_execute(&sql).await });
    let query = locks_sql("l.pid = $1");
    let mut seen: BTreeSet<LockTaken> = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !run.is_finished() && Instant::now() < deadline {
        seen.extend(to_locks(&c.query(&query, &[&pid]).await?));
        let waiting: bool = c
            .query_one(
                "SELECT EXISTS (SELECT FROM pg_locks WHERE pid = $1 AND NOT granted)",
                &[&pid],
            )
            .await?
            .get(0);
        if waiting {
            seen.extend(to_locks(&c.query(&query, &[&pid]).await?));
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    holder.batch_execute("COMMIT").await?;
    let result = run
        .await
        .map_err(|e| Error::Db(format!("traced statement task: {e}")))?;
    Ok((
        seen.into_iter().collect(),
        result.err().map(|e| db_message(&e)),
    ))
}

fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::mode_words;

    #[test]
    fn lock_modes_read_as_sql() {
        assert_eq!(mode_words("AccessExclusiveLock"), "ACCESS EXCLUSIVE");
        assert_eq!(mode_words("ShareRowExclusiveLock"), "SHARE ROW EXCLUSIVE");
        assert_eq!(mode_words("ShareLock"), "SHARE");
    }
}
