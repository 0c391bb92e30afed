//! Following the source's binlog into the target.
//!
//! - Source transactions are applied whole and in commit order; several may share one target
//!   transaction, and that transaction also stores the position after the last of them, so a
//!   crash anywhere neither loses nor re-applies a change.
//! - Every change is idempotent by key: an insert or update writes the whole after-image
//!   (`INSERT … ON CONFLICT (key) DO UPDATE`), an update that changes the key deletes the old
//!   key first, a delete deletes by key. Replaying from a position taken before the copy began
//!   therefore brings every row to the source's state however the copy and the changes
//!   interleaved; once the replay passes the position at which the copy ended, the target equals
//!   the source as of the applied position (it has *converged*) and unique indexes and foreign
//!   keys can be built.
//! - DDL: `ALTER TABLE … ADD COLUMN` (columns appended) is applied, converted by the same rules;
//!   `TRUNCATE` is applied; anything else on a moved table stops the job (`failed`) with the
//!   statement named and nothing applied past it.

use crate::convert::{plan as make_plan, MovePlan, PlanOptions, TablePlan};
use crate::copy::{convert_row, SOURCE_SETUP};
use crate::error::{Error, Result};
use crate::job::{self, Applied, Job};
use crate::value::{ConvertOptions, Origin, PgValue};
use mysql_async::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement};
use zdm_core::ident::{quote_ident, quote_qualified};
use zdm_mysql::binlog::{Item, Position, Reader, RowKind};
use zdm_pg::ledger::EventLevel;
use zdm_pg::Ledger;

#[derive(Debug, Clone)]
pub struct FollowOptions {
    pub server_id: u32,
    pub heartbeat: Duration,
    /// Commit a target transaction after this many row changes...
    pub batch_events: usize,
    /// ... or when the oldest change in it is this old.
    pub batch_age: Duration,
    pub convert: ConvertOptions,
    /// Stop once everything up to the source's current position is applied (tests, cut-over).
    pub until_caught_up: bool,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            server_id: 0,
            heartbeat: Duration::from_secs(1),
            batch_events: 2000,
            batch_age: Duration::from_millis(100),
            convert: ConvertOptions::default(),
            until_caught_up: false,
        }
    }
}

/// Why following ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowEnd {
    StopRequested,
    CaughtUp,
}

/// Changes held in memory before they are sent (within the open target transaction).
const SLICE: usize = 5000;

struct Prepared {
    upsert: Statement,
    delete: Statement,
    /// `UPDATE … SET every column WHERE key = old key`: a key change as an UPDATE, so the
    /// target's ON UPDATE actions fire (a DELETE + INSERT would cascade deletes).
    rekey: Statement,
    /// Foreign keys of other tables that reference this one, with the statements that carry
    /// out their ON DELETE / ON UPDATE action (InnoDB's cascades are not in the binlog).
    children: Vec<ChildAction>,
    key_idx: Vec<usize>,
    identity: Option<(String, usize, i64)>,
}

struct ChildAction {
    /// Positions of the referenced columns in this (the parent) table's row.
    parent_idx: Vec<usize>,
    on_delete: Option<Statement>,
    /// The statement, and whether it takes the new parent values before the old ones
    /// (CASCADE) or only the old ones (SET NULL).
    on_update: Option<(Statement, bool)>,
}

struct Op {
    stmt: Statement,
    params: Vec<PgValue>,
}

pub struct Applier<'a> {
    pg: Client,
    ledger: &'a Ledger,
    job_id: String,
    plan: MovePlan,
    prepared: HashMap<String, Prepared>,
    ops: Vec<Op>,
    opts: FollowOptions,
    converged: bool,
    copy_end: Option<Position>,
    skip_statement_at: Option<String>,
    identity_max: HashMap<String, i64>,
    /// Until the target has the foreign keys, their ON DELETE/UPDATE actions are emulated.
    constraints_built: bool,
}

fn key_changed(t: &Prepared, before: &[Value], after: &[Value]) -> bool {
    t.key_idx.iter().any(|&i| before.get(i) != after.get(i))
}

impl<'a> Applier<'a> {
    async fn prepare(&mut self, table: &str) -> Result<bool> {
        if self.prepared.contains_key(table) {
            return Ok(true);
        }
        let Some(t) = self.plan.table(table).cloned() else {
            return Ok(false);
        };
        let schema = &self.plan.target_schema;
        let qt = quote_qualified(schema, &t.target);
        let cols: Vec<String> = t.columns.iter().map(|c| quote_ident(&c.target)).collect();
        let params: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
        let key_idx: Vec<usize> = t
            .key
            .iter()
            .map(|k| t.columns.iter().position(|c| &c.source == k).unwrap())
            .collect();
        let key_cols: Vec<String> = key_idx.iter().map(|&i| cols[i].clone()).collect();
        let non_key: Vec<String> = (0..cols.len())
            .filter(|i| !key_idx.contains(i))
            .map(|i| format!("{0} = EXCLUDED.{0}", cols[i]))
            .collect();
        let conflict = if non_key.is_empty() {
            "DO NOTHING".to_string()
        } else {
            format!("DO UPDATE SET {}", non_key.join(", "))
        };
        let upsert = self
            .pg
            .prepare(&format!(
                "INSERT INTO {qt} ({}) OVERRIDING SYSTEM VALUE VALUES ({}) ON CONFLICT ({}) {conflict}",
                cols.join(", "),
                params.join(", "),
                key_cols.join(", ")
            ))
            .await?;
        let conds: Vec<String> = key_cols
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 1))
            .collect();
        let delete = self
            .pg
            .prepare(&format!("DELETE FROM {qt} WHERE {}", conds.join(" AND ")))
            .await?;
        let sets: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 1))
            .collect();
        let old: Vec<String> = key_cols
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", cols.len() + i + 1))
            .collect();
        let rekey = self
            .pg
            .prepare(&format!(
                "UPDATE {qt} SET {} WHERE {}",
                sets.join(", "),
                old.join(" AND ")
            ))
            .await?;
        let mut children = Vec::new();
        let child_fks: Vec<(String, crate::convert::ForeignKeyPlan)> = self
            .plan
            .tables
            .iter()
            .flat_map(|c| {
                c.foreign_keys
                    .iter()
                    .filter(|f| f.parent == t.source)
                    .map(move |f| (c.target.clone(), f.clone()))
            })
            .collect();
        for (child, fk) in child_fks {
            let Some(parent_idx) = fk
                .parent_columns
                .iter()
                .map(|pc| t.columns.iter().position(|c| &c.target == pc))
                .collect::<Option<Vec<usize>>>()
            else {
                continue;
            };
            let qc = quote_qualified(schema, &child);
            let fcols: Vec<String> = fk.columns.iter().map(|c| quote_ident(c)).collect();
            let n = fcols.len();
            let wh = |offset: usize| {
                fcols
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{c} = ${}", offset + i + 1))
                    .collect::<Vec<_>>()
                    .join(" AND ")
            };
            let set_null = fcols
                .iter()
                .map(|c| format!("{c} = NULL"))
                .collect::<Vec<_>>()
                .join(", ");
            let set_new = fcols
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c} = ${}", i + 1))
                .collect::<Vec<_>>()
                .join(", ");
            let on_delete = match fk.on_delete.as_str() {
                "CASCADE" => Some(
                    self.pg
                        .prepare(&format!("DELETE FROM {qc} WHERE {}", wh(0)))
                        .await?,
                ),
                "SET NULL" => Some(
                    self.pg
                        .prepare(&format!("UPDATE {qc} SET {set_null} WHERE {}", wh(0)))
                        .await?,
                ),
                _ => None,
            };
            let on_update = match fk.on_update.as_str() {
                "CASCADE" => Some((
                    self.pg
                        .prepare(&format!("UPDATE {qc} SET {set_new} WHERE {}", wh(n)))
                        .await?,
                    true,
                )),
                "SET NULL" => Some((
                    self.pg
                        .prepare(&format!("UPDATE {qc} SET {set_null} WHERE {}", wh(0)))
                        .await?,
                    false,
                )),
                _ => None,
            };
            if on_delete.is_some() || on_update.is_some() {
                children.push(ChildAction {
                    parent_idx,
                    on_delete,
                    on_update,
                });
            }
        }
        let identity = match crate::target::identity_sequence(&self.pg, schema, &t).await? {
            Some((seq, last)) => Some((
                seq,
                t.columns.iter().position(|c| c.identity).unwrap(),
                last,
            )),
            None => None,
        };
        self.prepared.insert(
            table.to_string(),
            Prepared {
                upsert,
                delete,
                rekey,
                children,
                key_idx,
                identity,
            },
        );
        Ok(true)
    }

    fn table(&self, name: &str) -> &TablePlan {
        self.plan.table(name).unwrap()
    }

    async fn row(
        &mut self,
        table: &str,
        kind: RowKind,
        before: Option<Vec<Value>>,
        after: Option<Vec<Value>>,
    ) -> Result<()> {
        if !self.prepare(table).await? {
            return Ok(());
        }
        let t = self.table(table).clone();
        let width = t.columns.len();
        for image in [&before, &after].into_iter().flatten() {
            if image.len() != width {
                return Err(Error::Stopped(format!(
                    "binlog row of {table} has {} columns, the move knows {width}: the table changed on the source in a way zdm did not see",
                    image.len()
                )));
            }
        }
        let p = &self.prepared[table];
        let (upsert, delete, rekey) = (p.upsert.clone(), p.delete.clone(), p.rekey.clone());
        let key_idx = p.key_idx.clone();
        let convert =
            |img: &[Value], this: &Self| convert_row(&t, img, Origin::Binlog, this.opts.convert);
        let mut child_ops = Vec::new();
        match kind {
            RowKind::Delete => {
                let before = convert(before.as_deref().unwrap_or_default(), self)?;
                if !self.constraints_built {
                    for ch in &p.children {
                        if let Some(stmt) = &ch.on_delete {
                            child_ops.push(Op {
                                stmt: stmt.clone(),
                                params: ch.parent_idx.iter().map(|&i| before[i].clone()).collect(),
                            });
                        }
                    }
                }
                self.ops.push(Op {
                    stmt: delete,
                    params: key_idx.iter().map(|&i| before[i].clone()).collect(),
                });
            }
            RowKind::Insert | RowKind::Update => {
                let after_raw = after.unwrap_or_default();
                let converted = convert(&after_raw, self)?;
                if let (RowKind::Update, Some(b)) = (kind, &before) {
                    let old = convert(b, self)?;
                    if key_changed(p, b, &after_raw) {
                        if self.converged {
                            // An UPDATE, so the target's ON UPDATE actions run.
                            let mut params = converted.clone();
                            params.extend(key_idx.iter().map(|&i| old[i].clone()));
                            self.ops.push(Op {
                                stmt: rekey,
                                params,
                            });
                        } else {
                            // Catching up, the copy may already hold the row under its new key:
                            // remove the old one (children are handled below).
                            self.ops.push(Op {
                                stmt: delete.clone(),
                                params: key_idx.iter().map(|&i| old[i].clone()).collect(),
                            });
                        }
                    }
                    if !self.constraints_built {
                        for ch in &p.children {
                            let changed =
                                ch.parent_idx.iter().any(|&i| b.get(i) != after_raw.get(i));
                            if let (true, Some((stmt, takes_new))) = (changed, &ch.on_update) {
                                let mut params: Vec<PgValue> = Vec::new();
                                if *takes_new {
                                    params.extend(
                                        ch.parent_idx.iter().map(|&i| converted[i].clone()),
                                    );
                                }
                                params.extend(ch.parent_idx.iter().map(|&i| old[i].clone()));
                                child_ops.push(Op {
                                    stmt: stmt.clone(),
                                    params,
                                });
                            }
                        }
                    }
                }
                if let Some((_, idx, _)) = &self.prepared[table].identity {
                    let v = match converted[*idx] {
                        PgValue::I64(v) => Some(v),
                        PgValue::I32(v) => Some(v as i64),
                        PgValue::I16(v) => Some(v as i64),
                        _ => None,
                    };
                    if let Some(v) = v {
                        let m = self.identity_max.entry(table.to_string()).or_insert(v);
                        *m = (*m).max(v);
                    }
                }
                self.ops.push(Op {
                    stmt: upsert,
                    params: converted,
                });
            }
        }
        // The parent's change first: with the constraint in place, the target's own action runs.
        self.ops.extend(child_ops);
        Ok(())
    }

    /// Sends every pending change (pipelined, in order) and commits them with the position.
    /// Sends the pending changes (pipelined, in order) inside the open target transaction,
    /// opening it if needed; nothing is committed. A source transaction of millions of rows is
    /// sent in slices, so memory stays bounded, and still commits as one.
    async fn send_pending(&mut self, open: &mut bool) -> Result<()> {
        if !*open {
            self.pg
                .batch_execute("BEGIN; SET LOCAL zdm.applying = 'on'")
                .await?;
            *open = true;
        }
        let ops = std::mem::take(&mut self.ops);
        let futures = ops.iter().map(|op| {
            let refs: Vec<&(dyn ToSql + Sync)> =
                op.params.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            let pg = &self.pg;
            async move { pg.execute(&op.stmt, &refs).await }
        });
        futures_util::future::try_join_all(futures).await?;
        Ok(())
    }

    async fn flush(&mut self, applied: Applied<'_>, open: &mut bool) -> Result<()> {
        self.send_pending(open).await?;
        // Identity sequences stay ahead of the ids the source handed out.
        for (table, max) in std::mem::take(&mut self.identity_max) {
            if let Some((seq, _, last)) = self
                .prepared
                .get_mut(&table)
                .and_then(|p| p.identity.as_mut())
            {
                if max >= *last {
                    self.pg
                        .query_one(
                            "SELECT setval($1::text::regclass, $2)",
                            &[&seq.as_str(), &max],
                        )
                        .await?;
                    *last = max;
                }
            }
        }
        job::save_position(&self.pg, self.ledger, &self.job_id, &applied).await?;
        let converging = !self.converged
            && self
                .copy_end
                .as_ref()
                .is_some_and(|end| applied.position >= end);
        if converging {
            job::set_flag(
                &self.pg,
                self.ledger,
                &self.job_id,
                job::Flag::Converged,
                true,
            )
            .await?;
        }
        self.pg.batch_execute("COMMIT").await?;
        *open = false;
        if converging {
            self.converged = true;
            job::event(
                &self.pg,
                self.ledger,
                &self.job_id,
                EventLevel::Info,
                format!(
                    "converged: the target equals the source as of {}",
                    applied.position
                ),
                serde_json::json!({ "position": applied.position.to_string() }),
            )
            .await;
        }
        Ok(())
    }

    /// A statement outside row transactions: applied, ignored, or the end of the road.
    async fn statement(
        &mut self,
        src: &mut mysql_async::Conn,
        schema: &str,
        query: &str,
        next: &Position,
    ) -> Result<()> {
        let (verb, tables) = ddl_tables(query, schema);
        let db = self.plan.source_database.clone();
        let moved: Vec<String> = tables
            .iter()
            .filter(|(d, t)| d == &db && self.plan.table(t).is_some())
            .map(|(_, t)| t.clone())
            .collect();
        let at = next.to_string();
        if moved.is_empty()
            || matches!(
                verb.as_str(),
                "ANALYZE" | "OPTIMIZE" | "CHECK" | "REPAIR" | "FLUSH"
            )
        {
            return Ok(());
        }
        if self.skip_statement_at.as_deref() == Some(at.as_str()) {
            job::set_skip_statement(&self.pg, self.ledger, &self.job_id, None).await?;
            // The user made the change on the target: the tables' columns are read again so
            // the row images that follow match.
            let catalog = zdm_mysql::catalog::read(src, &db).await?;
            let fresh = make_plan(
                &catalog,
                &PlanOptions {
                    target_schema: Some(self.plan.target_schema.clone()),
                    tables: moved.clone(),
                    ..Default::default()
                },
            );
            for nt in fresh.tables {
                if let Some(tp) = self.plan.tables.iter_mut().find(|x| x.source == nt.source) {
                    tp.columns = nt.columns;
                    tp.key = nt.key;
                }
                self.prepared.remove(&nt.source);
            }
            job::save_plan(&self.pg, self.ledger, &self.job_id, &self.plan).await?;
            job::event(
                &self.pg,
                self.ledger,
                &self.job_id,
                EventLevel::Warn,
                format!("skipped, as asked: {query}"),
                serde_json::json!({ "position": at }),
            )
            .await;
            return Ok(());
        }
        let stop = |why: String| {
            Error::Stopped(format!(
                "DDL on moved table {} at {at}: `{}`: {why}. Nothing past it was applied. To continue, make the same change on the target yourself and run `zdm move start --skip-statement {at}`, or re-copy the table with `zdm move start --recopy {}`",
                moved.join(", "),
                query.trim(),
                moved.join(",")
            ))
        };
        match verb.as_str() {
            "TRUNCATE" => {
                for t in &moved {
                    let target = self.table(t).target.clone();
                    self.pg
                        .batch_execute(&format!(
                            "TRUNCATE {}",
                            quote_qualified(&self.plan.target_schema, &target)
                        ))
                        .await?;
                }
                Ok(())
            }
            "ALTER" => {
                let t = moved[0].clone();
                let catalog = zdm_mysql::catalog::read(src, &db).await?;
                let Some(now) = catalog.table(&t) else {
                    return Err(stop("the table is gone from the source".into()));
                };
                let known = self.table(&t).clone();
                let same_prefix = now.columns.len() > known.columns.len()
                    && known
                        .columns
                        .iter()
                        .zip(&now.columns)
                        .all(|(k, n)| k.source == n.name && k.source_type == n.column_type);
                let only_new_columns =
                    same_prefix
                        || (now.columns.len() == known.columns.len()
                            && known.columns.iter().zip(&now.columns).all(|(k, n)| {
                                k.source == n.name && k.source_type == n.column_type
                            }));
                if !only_new_columns {
                    return Err(stop("only ADD COLUMN (at the end) is followed".into()));
                }
                let fresh = make_plan(
                    &catalog,
                    &PlanOptions {
                        target_schema: Some(self.plan.target_schema.clone()),
                        tables: vec![t.clone()],
                        ..Default::default()
                    },
                );
                let Some(new_t) = fresh.tables.into_iter().next() else {
                    return Err(stop("the new columns cannot be converted".into()));
                };
                let qt = quote_qualified(&self.plan.target_schema, &known.target);
                let mut added = Vec::new();
                for c in new_t.columns.iter().skip(known.columns.len()) {
                    let mut def = format!("{} {}", quote_ident(&c.target), c.pg_type);
                    if let Some(d) = &c.default {
                        def.push_str(&format!(" DEFAULT {d}"));
                    }
                    self.pg
                        .batch_execute(&format!("ALTER TABLE {qt} ADD COLUMN IF NOT EXISTS {def}"))
                        .await?;
                    added.push(c.clone());
                }
                if let Some(tp) = self.plan.tables.iter_mut().find(|x| x.source == t) {
                    tp.columns.extend(added.iter().cloned());
                }
                job::save_plan(&self.pg, self.ledger, &self.job_id, &self.plan).await?;
                self.prepared.remove(&t);
                job::event(
                    &self.pg,
                    self.ledger,
                    &self.job_id,
                    EventLevel::Info,
                    format!(
                        "followed DDL on {t}: added {}",
                        added
                            .iter()
                            .map(|c| c.target.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    serde_json::json!({ "statement": query }),
                )
                .await;
                Ok(())
            }
            _ => Err(stop(format!("{verb} is not followed"))),
        }
    }
}

/// The statement's verb and the tables it names (`(database, table)`, default database applied).
pub fn ddl_tables(query: &str, default_db: &str) -> (String, Vec<(String, String)>) {
    let mut words = Vec::new();
    let mut chars = query.chars().peekable();
    let mut cur = String::new();
    let flush = |cur: &mut String, words: &mut Vec<String>| {
        if !cur.is_empty() {
            words.push(std::mem::take(cur));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                flush(&mut cur, &mut words);
                let mut q = String::from("`");
                while let Some(n) = chars.next() {
                    if n == '`' {
                        if chars.peek() == Some(&'`') {
                            chars.next();
                            q.push('`');
                            continue;
                        }
                        break;
                    }
                    q.push(n);
                }
                words.push(q);
            }
            '/' if chars.peek() == Some(&'*') => {
                flush(&mut cur, &mut words);
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
            }
            '.' | ',' | '(' | ';' => {
                flush(&mut cur, &mut words);
                words.push(c.to_string());
            }
            c if c.is_whitespace() => flush(&mut cur, &mut words),
            c => cur.push(c),
        }
    }
    flush(&mut cur, &mut words);
    let upper = |w: &str| w.to_ascii_uppercase();
    let verb = words.first().map(|w| upper(w)).unwrap_or_default();
    let name_at = |i: usize| -> Option<((String, String), usize)> {
        let unq = |w: &String| {
            w.strip_prefix('`')
                .map(str::to_string)
                .unwrap_or_else(|| w.clone())
        };
        let first = words.get(i)?;
        if words.get(i + 1).map(String::as_str) == Some(".") {
            let second = words.get(i + 2)?;
            Some(((unq(first), unq(second)), i + 3))
        } else {
            Some(((default_db.to_string(), unq(first)), i + 1))
        }
    };
    let skip_kw = |mut i: usize, kws: &[&str]| {
        while words
            .get(i)
            .is_some_and(|w| kws.contains(&upper(w).as_str()))
        {
            i += 1;
        }
        i
    };
    let mut tables = Vec::new();
    match verb.as_str() {
        "ALTER" | "TRUNCATE" | "DROP" | "RENAME" | "OPTIMIZE" | "ANALYZE" | "REPAIR" | "CHECK" => {
            let mut i = skip_kw(
                1,
                &[
                    "ONLINE",
                    "IGNORE",
                    "TEMPORARY",
                    "TABLE",
                    "TABLES",
                    "IF",
                    "EXISTS",
                    "NO_WRITE_TO_BINLOG",
                    "LOCAL",
                ],
            );
            if verb == "DROP" && words.get(1).is_some_and(|w| upper(w) == "INDEX") {
                // DROP INDEX i ON t
                if let Some(on) = words.iter().position(|w| upper(w) == "ON") {
                    if let Some((n, _)) = name_at(on + 1) {
                        tables.push(n);
                    }
                }
            } else if !(verb == "ALTER" || verb == "DROP")
                || words.get(1).is_some_and(|w| {
                    matches!(
                        upper(w).as_str(),
                        "TABLE" | "ONLINE" | "IGNORE" | "TEMPORARY"
                    )
                })
            {
                while let Some((n, next)) = name_at(i) {
                    tables.push(n);
                    i = next;
                    // RENAME TABLE a TO b, c TO d / DROP TABLE a, b
                    match words.get(i).map(|w| upper(w)) {
                        Some(w) if w == "," => i += 1,
                        Some(w) if w == "TO" && verb == "RENAME" => {
                            i = name_at(i + 1).map(|(_, n)| n).unwrap_or(i + 1);
                            if words.get(i).map(String::as_str) == Some(",") {
                                i += 1;
                            } else {
                                break;
                            }
                        }
                        _ => break,
                    }
                    if verb == "ALTER" {
                        break;
                    }
                }
            }
        }
        "CREATE" => {
            if let Some(on) = words.iter().position(|w| upper(w) == "ON") {
                if words[1..on].iter().any(|w| upper(w) == "INDEX") {
                    if let Some((n, _)) = name_at(on + 1) {
                        tables.push(n);
                    }
                }
            }
        }
        _ => {}
    }
    (verb, tables)
}

/// Follows the binlog from the job's position until a stop is requested (or, with
/// `until_caught_up`, until the source's position at the call is applied).
pub async fn follow(
    source: &zdm_mysql::SourceSpec,
    target: &zdm_pg::ConnectionSpec,
    ledger: &Ledger,
    job: &Job,
    opts: &FollowOptions,
) -> Result<FollowEnd> {
    let pg = target
        .connect("zdm move apply")
        .await
        .map_err(zdm_pg::Error::from)?;
    pg.batch_execute("SET synchronous_commit = off").await?;
    let mut src = source.connect(SOURCE_SETUP).await?;
    let goal = if opts.until_caught_up {
        Some(zdm_mysql::binlog::current_position(&mut src).await?)
    } else {
        None
    };
    let mut reader = Reader::open(
        source,
        opts.server_id,
        &job.position,
        &job.source_database,
        opts.heartbeat,
    )
    .await?;
    let (tx, mut rx) = mpsc::channel::<zdm_mysql::Result<Item>>(20_000);
    let reader_task = tokio::spawn(async move {
        loop {
            let item = reader.next().await;
            let end = !matches!(item, Ok(Some(_)));
            let send = match item {
                Ok(Some(i)) => tx.send(Ok(i)).await,
                Ok(None) => break,
                Err(e) => tx.send(Err(e)).await,
            };
            if send.is_err() || end {
                break;
            }
        }
    });
    let mut a = Applier {
        pg,
        ledger,
        job_id: job.id.clone(),
        plan: job.plan.clone(),
        prepared: HashMap::new(),
        ops: Vec::new(),
        opts: opts.clone(),
        converged: job.converged,
        copy_end: job.copy_end.clone(),
        skip_statement_at: job.skip_statement_at.clone(),
        identity_max: HashMap::new(),
        constraints_built: job.constraints_built,
    };
    if !a.converged && a.copy_end.as_ref().is_some_and(|end| &job.position >= end) {
        // Nothing happened on the source between the copy's start and its end.
        job::set_flag(&a.pg, ledger, &job.id, job::Flag::Converged, true).await?;
        a.converged = true;
    }
    let result = apply_loop(
        &mut a,
        &mut rx,
        &mut src,
        goal.as_ref(),
        job.position.clone(),
    )
    .await;
    reader_task.abort();
    if result.is_err() {
        let _ = a.pg.batch_execute("ROLLBACK").await;
    }
    let _ = src.disconnect().await;
    result
}

/// What the target transaction being built covers, and the position it moves the job to.
struct Batch {
    position: Position,
    gtid: Option<String>,
    events: i64,
    transactions: i64,
    /// Source timestamp of the last transaction end seen.
    last_ts: Option<u32>,
    /// When the batch got its first change (`None`: nothing to commit).
    started: Option<Instant>,
    /// Changes committed since the last rate sample.
    since_sample: i64,
}

impl Batch {
    /// Commits what the batch holds with its position (and counters), and starts a new one.
    async fn commit(&mut self, a: &mut Applier<'_>, open: &mut bool) -> Result<()> {
        let last_event_at = self
            .last_ts
            .and_then(|t| chrono::DateTime::from_timestamp(t as i64, 0));
        a.flush(
            Applied {
                position: &self.position,
                gtid: self.gtid.as_deref(),
                events: self.events,
                transactions: self.transactions,
                last_event_at,
            },
            open,
        )
        .await?;
        self.since_sample += self.events;
        self.events = 0;
        self.transactions = 0;
        self.started = None;
        Ok(())
    }
}

async fn apply_loop(
    a: &mut Applier<'_>,
    rx: &mut mpsc::Receiver<zdm_mysql::Result<Item>>,
    src: &mut mysql_async::Conn,
    goal: Option<&Position>,
    start: Position,
) -> Result<FollowEnd> {
    let mut b = Batch {
        position: start,
        gtid: None,
        events: 0,
        transactions: 0,
        last_ts: None,
        started: None,
        since_sample: 0,
    };
    let mut open = false;
    let mut in_trx = false;
    let mut sampled_at = Instant::now();
    let mut last_caught_up = Instant::now() - Duration::from_secs(60);
    let reached = |b: &Batch| goal.is_some_and(|g| &b.position >= g);
    if reached(&b) {
        return Ok(FollowEnd::CaughtUp);
    }
    loop {
        // Commit when the batch is big or old enough, or nothing more is waiting.
        let due = !in_trx
            && b.started.is_some_and(|t| {
                b.events as usize >= a.opts.batch_events
                    || t.elapsed() >= a.opts.batch_age
                    || rx.is_empty()
            });
        if due {
            b.commit(a, &mut open).await?;
            if reached(&b) {
                return Ok(FollowEnd::CaughtUp);
            }
        }
        let item = match tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
            Err(_) => {
                if job::stop_requested(&a.pg, a.ledger, &a.job_id).await? && !in_trx {
                    return Ok(FollowEnd::StopRequested);
                }
                continue;
            }
            Ok(None) => {
                return Err(Error::Source(zdm_mysql::Error::Db(
                    "the binlog stream ended".into(),
                )))
            }
            Ok(Some(item)) => item?,
        };
        match item {
            Item::Begin { gtid } => {
                in_trx = true;
                if gtid.is_some() {
                    b.gtid = gtid;
                }
            }
            Item::Row(r) => {
                b.started.get_or_insert_with(Instant::now);
                a.row(&r.table, r.kind, r.before, r.after).await?;
                b.events += 1;
                if a.ops.len() >= SLICE {
                    a.send_pending(&mut open).await?;
                }
            }
            Item::Commit { next, timestamp } => {
                in_trx = false;
                b.position = next;
                b.last_ts = Some(timestamp);
                b.transactions += 1;
                // Even an empty transaction (other databases' rows) moves the position.
                b.started.get_or_insert_with(Instant::now);
            }
            Item::Statement {
                schema,
                query,
                next,
                timestamp,
            } => {
                in_trx = false;
                // What came before commits first; the statement then commits with its own position.
                if b.started.is_some() {
                    b.commit(a, &mut open).await?;
                }
                a.pg.batch_execute("BEGIN; SET LOCAL zdm.applying = 'on'")
                    .await?;
                open = true;
                a.statement(src, &schema, &query, &next).await?;
                b.position = next;
                b.last_ts = Some(timestamp);
                b.commit(a, &mut open).await?;
            }
            Item::Heartbeat { position: head } => {
                if in_trx || b.started.is_some() || !rx.is_empty() {
                    continue;
                }
                if head > b.position {
                    // Only other databases' events in between: the position moves on.
                    b.position = head.clone();
                    b.commit(a, &mut open).await?;
                }
                if last_caught_up.elapsed() >= Duration::from_millis(500) {
                    let elapsed = sampled_at.elapsed().as_secs_f64().max(0.001);
                    let stats =
                        serde_json::json!({ "events_per_second": b.since_sample as f64 / elapsed });
                    b.since_sample = 0;
                    sampled_at = Instant::now();
                    last_caught_up = Instant::now();
                    if job::caught_up(&a.pg, a.ledger, &a.job_id, Some(&head), &stats).await? {
                        return Ok(FollowEnd::StopRequested);
                    }
                }
                if reached(&b) {
                    return Ok(FollowEnd::CaughtUp);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ddl_tables;

    fn t(q: &str) -> (String, Vec<String>) {
        let (v, ts) = ddl_tables(q, "shop");
        (v, ts.into_iter().map(|(d, t)| format!("{d}.{t}")).collect())
    }

    #[test]
    fn finds_the_tables_a_ddl_names() {
        assert_eq!(
            t("ALTER TABLE orders ADD COLUMN x int"),
            ("ALTER".into(), vec!["shop.orders".into()])
        );
        assert_eq!(
            t("alter table `other`.`Orders` drop column y"),
            ("ALTER".into(), vec!["other.Orders".into()])
        );
        assert_eq!(
            t("DROP TABLE IF EXISTS a, `b`"),
            ("DROP".into(), vec!["shop.a".into(), "shop.b".into()])
        );
        assert_eq!(
            t("RENAME TABLE a TO a_old, b TO a"),
            ("RENAME".into(), vec!["shop.a".into(), "shop.b".into()])
        );
        assert_eq!(
            t("TRUNCATE TABLE t1"),
            ("TRUNCATE".into(), vec!["shop.t1".into()])
        );
        assert_eq!(
            t("CREATE INDEX i ON t2 (a)"),
            ("CREATE".into(), vec!["shop.t2".into()])
        );
        assert_eq!(
            t("DROP INDEX i ON t2"),
            ("DROP".into(), vec!["shop.t2".into()])
        );
        assert_eq!(
            t("/* x */ CREATE TABLE n (a int)"),
            ("CREATE".into(), vec![])
        );
        assert_eq!(t("DROP VIEW v"), ("DROP".into(), vec![]));
    }
}
