//! Tracing DDL on MySQL/MariaDB. An `ALTER TABLE` that names no algorithm is probed with
//! `ALGORITHM=INSTANT`, then `INPLACE, LOCK=NONE`, then `INPLACE`, then as written (COPY): the
//! server refuses an algorithm it cannot honour, so the first form it accepts is the one it
//! would have chosen, and it is applied. A rebuild shows as a new InnoDB table id. Metadata locks
//! are read from performance_schema when it records them, while a holder session makes the
//! statement wait. Everything runs on a scratch database that is dropped at the end (MySQL DDL
//! commits implicitly, so nothing here can be rolled back).

use crate::{Error, Result};
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts, OptsBuilder, Pool};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How the server carried out a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Algorithm {
    /// Metadata only; a brief exclusive metadata lock.
    Instant,
    /// In place with concurrent reads and writes (brief exclusive metadata locks at the ends).
    InplaceLockNone,
    /// In place, but writes wait for the whole operation (LOCK=SHARED or stronger).
    InplaceLocked,
    /// A table copy: writes wait for the whole copy.
    Copy,
    /// Not an ALTER TABLE, or it names its own algorithm: run as written.
    AsWritten,
}

impl Algorithm {
    pub fn blocks_writes(self) -> bool {
        matches!(self, Algorithm::InplaceLocked | Algorithm::Copy)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MetadataLock {
    /// `schema.table` (or another object name).
    pub object: String,
    /// performance_schema's LOCK_TYPE (`SHARED_UPGRADABLE`, `EXCLUSIVE`, …).
    pub lock_type: String,
    /// `GRANTED` or `PENDING`.
    pub status: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StatementTrace {
    pub index: usize,
    pub sql: String,
    /// The table an ALTER TABLE changes.
    pub table: Option<String>,
    pub algorithm: Algorithm,
    /// Tables whose InnoDB table id changed (rebuilt).
    pub rebuilt: Vec<String>,
    /// `None` when performance_schema does not record metadata locks on this server.
    pub metadata_locks: Option<Vec<MetadataLock>>,
    pub error: Option<String>,
}

/// A database created for a trace and dropped afterwards.
pub struct Scratch {
    pool: Pool,
    pub name: String,
    opts: Opts,
}

impl Scratch {
    /// Create an empty database on the server `url` (mysql://…) points at.
    pub async fn create(url: &str) -> Result<Scratch> {
        let opts = Opts::from_url(url).map_err(|e| Error::Url(scrub(&e.to_string(), url)))?;
        let name = format!(
            "zdm_trace_{}_{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        let mut admin = Conn::new(opts.clone()).await?;
        admin
            .query_drop(format!("CREATE DATABASE {}", quote_ident(&name)))
            .await?;
        admin.disconnect().await?;
        let opts: Opts = OptsBuilder::from_opts(opts)
            .db_name(Some(name.clone()))
            .into();
        Ok(Scratch {
            pool: Pool::new(opts.clone()),
            name,
            opts,
        })
    }

    pub async fn connect(&self) -> Result<Conn> {
        Ok(self.pool.get_conn().await?)
    }

    pub async fn drop(self) -> Result<()> {
        let mut c = Conn::new(self.opts.clone()).await?;
        c.query_drop(format!(
            "DROP DATABASE IF EXISTS {}",
            quote_ident(&self.name)
        ))
        .await?;
        c.disconnect().await?;
        self.pool.disconnect().await?;
        Ok(())
    }
}

/// Remove the password of `url` from a message.
fn scrub(message: &str, url: &str) -> String {
    match url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
    {
        Some((userinfo, _)) => match userinfo.split_once(':') {
            Some((_, pw)) if !pw.is_empty() => message.replace(pw, "***"),
            _ => message.to_string(),
        },
        None => message.to_string(),
    }
}

pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Run `statements` (already split, DELIMITER handled) one by one and trace each. Stops at the
/// first failing statement.
pub async fn trace_statements(
    scratch: &Scratch,
    statements: &[String],
) -> Result<Vec<StatementTrace>> {
    let mut c = scratch.connect().await?;
    let mdl = metadata_locks_recorded(&mut c).await;
    let mut out = Vec::new();
    for (index, sql) in statements.iter().enumerate() {
        let before = table_ids(&mut c, &scratch.name).await?;
        let probe = is_probeable_alter(sql);
        let (algorithm, locks, error) = if probe {
            probe_alter(scratch, &mut c, sql, mdl).await?
        } else {
            let (locks, error) = run_observed(scratch, &mut c, sql, mdl).await?;
            (Algorithm::AsWritten, locks, error.map(|(_, m)| m))
        };
        let after = table_ids(&mut c, &scratch.name).await?;
        let rebuilt = before
            .iter()
            .filter(|(t, id)| after.get(*t).is_some_and(|n| n != *id))
            .map(|(t, _)| t.clone())
            .collect();
        let failed = error.is_some();
        out.push(StatementTrace {
            index,
            table: alter_target(sql),
            sql: sql.clone(),
            algorithm,
            rebuilt,
            metadata_locks: locks,
            error,
        });
        if failed {
            break;
        }
    }
    Ok(out)
}

/// The table of an `ALTER [ONLINE|IGNORE] TABLE` statement, unquoted, without its database.
pub fn alter_target(sql: &str) -> Option<String> {
    let words: Vec<&str> = sql.split_whitespace().take(4).collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let at = match upper
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["ALTER", "TABLE", ..] => 2,
        ["ALTER", "ONLINE" | "IGNORE", "TABLE", ..] => 3,
        _ => return None,
    };
    let name = words.get(at)?;
    let last = name.rsplit('.').next().unwrap_or(name);
    Some(last.trim_matches('`').replace("``", "`"))
}

/// The server's version string (`10.11.6-MariaDB-…`, `8.0.36`).
pub async fn server_version(scratch: &Scratch) -> Result<String> {
    let mut c = scratch.connect().await?;
    let v: Option<String> = c.query_first("SELECT VERSION()").await?;
    Ok(v.unwrap_or_default())
}

/// The version string of the server at `url`, without creating anything.
pub async fn version_of(url: &str) -> Result<String> {
    let opts = Opts::from_url(url).map_err(|e| Error::Url(scrub(&e.to_string(), url)))?;
    let mut c = Conn::new(opts).await?;
    let v: Option<String> = c.query_first("SELECT VERSION()").await?;
    c.disconnect().await?;
    Ok(v.unwrap_or_default())
}

/// Run statements as they are (earlier migrations, to give the traced ones their schema).
pub async fn apply(scratch: &Scratch, statements: &[String]) -> Result<()> {
    let mut c = scratch.connect().await?;
    for sql in statements {
        c.query_drop(sql).await?;
    }
    Ok(())
}

/// The scratch database's tables.
pub async fn tables(scratch: &Scratch) -> Result<Vec<String>> {
    let mut c = scratch.connect().await?;
    Ok(c.query("SHOW TABLES").await?)
}

/// An ALTER TABLE without its own ALGORITHM or LOCK clause.
fn is_probeable_alter(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().take(3).collect();
    let alter_table = words.first() == Some(&"ALTER")
        && (words.get(1) == Some(&"TABLE")
            || (matches!(words.get(1), Some(&"ONLINE") | Some(&"IGNORE"))
                && words.get(2) == Some(&"TABLE")));
    alter_table && !upper.contains("ALGORITHM") && !upper.contains(" LOCK")
}

async fn probe_alter(
    scratch: &Scratch,
    c: &mut Conn,
    sql: &str,
    mdl: bool,
) -> Result<(Algorithm, Option<Vec<MetadataLock>>, Option<String>)> {
    let body = sql.trim().trim_end_matches(';');
    for (suffix, algorithm) in [
        (", ALGORITHM=INSTANT", Algorithm::Instant),
        (", ALGORITHM=INPLACE, LOCK=NONE", Algorithm::InplaceLockNone),
        (", ALGORITHM=INPLACE", Algorithm::InplaceLocked),
    ] {
        let attempt = format!("{body}{suffix}");
        let (locks, error) = run_observed(scratch, c, &attempt, mdl).await?;
        match error {
            None => return Ok((algorithm, locks, None)),
            // 1845/1846: the algorithm or lock level is not supported for this change.
            Some((code, _)) if code == 1845 || code == 1846 => continue,
            Some((_, message)) => return Ok((algorithm, locks, Some(message))),
        }
    }
    let (locks, error) = run_observed(scratch, c, body, mdl).await?;
    Ok((Algorithm::Copy, locks, error.map(|(_, m)| m)))
}

/// InnoDB table ids of the scratch database's tables (a rebuild assigns a new one).
async fn table_ids(c: &mut Conn, db: &str) -> Result<BTreeMap<String, u64>> {
    // MariaDB and MySQL 5.7 call the view INNODB_SYS_TABLES, MySQL 8 INNODB_TABLES.
    let prefix = format!("{db}/");
    for view in ["INNODB_SYS_TABLES", "INNODB_TABLES"] {
        let q = format!(
            "SELECT NAME, TABLE_ID FROM information_schema.{view} WHERE NAME LIKE CONCAT(?, '%')"
        );
        if let Ok(rows) = c.exec::<(String, u64), _, _>(q, (prefix.clone(),)).await {
            return Ok(rows
                .into_iter()
                .map(|(n, id)| (n.trim_start_matches(&prefix).to_string(), id))
                .collect());
        }
    }
    Ok(BTreeMap::new())
}

async fn metadata_locks_recorded(c: &mut Conn) -> bool {
    let on: Option<(String,)> = c
        .query_first(
            "SELECT ENABLED FROM performance_schema.setup_instruments \
              WHERE NAME = 'wait/lock/metadata/sql/mdl'",
        )
        .await
        .unwrap_or(None);
    matches!(on, Some((e,)) if e == "YES")
}

/// Run one statement; with performance_schema, a holder session keeps a shared metadata lock on
/// every table so the statement waits for its exclusive one, and its locks are read meanwhile.
async fn run_observed(
    scratch: &Scratch,
    c: &mut Conn,
    sql: &str,
    mdl: bool,
) -> Result<(Option<Vec<MetadataLock>>, Option<(u16, String)>)> {
    if !mdl {
        return Ok((None, c.query_drop(sql).await.err().map(server_error)));
    }
    let mut holder = scratch.connect().await?;
    let tables: Vec<String> = holder.query("SHOW TABLES").await?;
    holder.query_drop("START TRANSACTION").await?;
    for t in &tables {
        holder
            .query_drop(format!("SELECT 1 FROM {} LIMIT 1", quote_ident(t)))
            .await?;
    }
    let mut runner = scratch.connect().await?;
    let runner_id = runner.id();
    let thread: Option<u64> = c
        .exec_first(
            "SELECT THREAD_ID FROM performance_schema.threads WHERE PROCESSLIST_ID = ?",
            (runner_id,),
        )
        .await?;
    let sql_owned = sql.to_string();
    let run = tokio::spawn(async move {
        let r = runner.query_drop(sql_owned).await;
        (runner, r)
    });
    let mut seen: Vec<MetadataLock> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !run.is_finished() && Instant::now() < deadline {
        let rows: Vec<(String, String, String, String)> = c
            .exec(
                "SELECT IFNULL(OBJECT_SCHEMA, ''), IFNULL(OBJECT_NAME, ''), LOCK_TYPE, LOCK_STATUS \
                   FROM performance_schema.metadata_locks WHERE OWNER_THREAD_ID = ? AND OBJECT_TYPE = 'TABLE'",
                (thread,),
            )
            .await?;
        let pending = rows.iter().any(|r| r.3 == "PENDING");
        for (schema, name, lock_type, status) in rows {
            let l = MetadataLock {
                object: if schema == scratch.name {
                    name
                } else {
                    format!("{schema}.{name}")
                },
                lock_type,
                status,
            };
            if !seen.contains(&l) {
                seen.push(l);
            }
        }
        if pending {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    holder.query_drop("COMMIT").await?;
    let (runner, result) = run
        .await
        .map_err(|e| Error::Db(format!("traced statement task: {e}")))?;
    drop(runner);
    Ok((Some(seen), result.err().map(server_error)))
}

fn server_error(e: mysql_async::Error) -> (u16, String) {
    match e {
        mysql_async::Error::Server(s) => (s.code, format!("{} ({})", s.message, s.code)),
        other => (0, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_alters_are_probed() {
        assert!(is_probeable_alter("ALTER TABLE t ADD COLUMN c int"));
        assert!(is_probeable_alter("alter online table t add index (c)"));
        assert!(!is_probeable_alter(
            "ALTER TABLE t ADD COLUMN c int, ALGORITHM=COPY"
        ));
        assert!(!is_probeable_alter(
            "ALTER TABLE t ADD INDEX (c), LOCK=SHARED"
        ));
        assert!(!is_probeable_alter("CREATE INDEX i ON t (c)"));
    }

    #[test]
    fn alter_targets() {
        assert_eq!(
            alter_target("ALTER TABLE `a``b` ADD c int").as_deref(),
            Some("a`b")
        );
        assert_eq!(
            alter_target("alter online table db.t add index (c)").as_deref(),
            Some("t")
        );
        assert_eq!(alter_target("CREATE TABLE t (id int)"), None);
    }

    #[test]
    fn passwords_are_scrubbed() {
        assert_eq!(
            scrub("bad url mysql://u:s3cret@h/db", "mysql://u:s3cret@h/db"),
            "bad url mysql://u:***@h/db"
        );
    }
}
