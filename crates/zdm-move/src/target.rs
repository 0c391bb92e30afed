//! What a move creates and changes on the target besides the ledger: the schema and tables
//! (primary keys first), the indexes, constraints and triggers after the copy, identity
//! sequences kept past the copied and replayed values, and their removal by `abort`.

use crate::convert::{MovePlan, PostStepKind, TablePlan};
use crate::error::{Error, Result};
use std::sync::Arc;
use tokio_postgres::{Client, GenericClient};
use zdm_core::ident::{quote_ident, quote_literal, quote_qualified};

/// Creates the schema (when missing) and every table; refuses when a table already exists.
/// Returns whether the schema was created. Runs in the caller's transaction.
pub async fn create_tables(c: &impl GenericClient, plan: &MovePlan) -> Result<bool> {
    let exists: bool = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&plan.target_schema],
        )
        .await?
        .get(0);
    if !exists {
        c.batch_execute(&format!(
            "CREATE SCHEMA {}",
            quote_ident(&plan.target_schema)
        ))
        .await?;
    }
    for t in &plan.tables {
        let taken: bool = c
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL",
                &[&quote_qualified(&plan.target_schema, &t.target)],
            )
            .await?
            .get(0);
        if taken {
            return Err(Error::Refused(format!(
                "the target already has a table {}.{}: move into another --target-schema, or drop it first",
                plan.target_schema, t.target
            )));
        }
        for s in &t.create {
            c.batch_execute(s).await?;
        }
    }
    Ok(!exists)
}

/// Runs the post-copy steps of `kinds`, `parallel` at a time (one connection each).
/// `concurrently` builds indexes without blocking writes (the change stream is running).
/// Every step is idempotent, so an interrupted run is simply run again.
pub async fn run_post_steps(
    target: &zdm_pg::ConnectionSpec,
    plan: &MovePlan,
    kinds: &[PostStepKind],
    parallel: usize,
    concurrently: bool,
) -> Result<()> {
    let steps: Vec<(String, crate::convert::PostStep)> = plan
        .tables
        .iter()
        .flat_map(|t| {
            t.post
                .iter()
                .filter(|s| kinds.contains(&s.kind))
                .map(move |s| (t.target.clone(), s.clone()))
        })
        .collect();
    if steps.is_empty() {
        return Ok(());
    }
    let queue = Arc::new(tokio::sync::Mutex::new(steps));
    let mut tasks = Vec::new();
    for _ in 0..parallel.max(1) {
        let queue = queue.clone();
        let target = target.clone();
        let schema = plan.target_schema.clone();
        tasks.push(tokio::spawn(async move {
            let c = target
                .connect("zdm move post-copy")
                .await
                .map_err(zdm_pg::Error::from)?;
            c.batch_execute("SET maintenance_work_mem = '256MB'")
                .await?;
            loop {
                let Some((table, step)) = queue.lock().await.pop() else {
                    return Ok::<(), Error>(());
                };
                run_step(&c, &schema, &table, &step, concurrently).await?;
            }
        }));
    }
    for t in tasks {
        t.await
            .map_err(|e| Error::Refused(format!("post-copy task failed: {e}")))??;
    }
    Ok(())
}

async fn run_step(
    c: &Client,
    schema: &str,
    table: &str,
    step: &crate::convert::PostStep,
    concurrently: bool,
) -> Result<()> {
    match step.kind {
        PostStepKind::ForeignKey => {
            let name = step.sql.split('"').nth(5).unwrap_or("").to_string();
            let exists: bool = c
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2)",
                    &[&quote_qualified(schema, table), &name],
                )
                .await?
                .get(0);
            if !exists {
                c.batch_execute(&step.sql).await?;
            }
        }
        PostStepKind::Index | PostStepKind::UniqueIndex if concurrently => {
            let sql =
                step.sql
                    .replacen("INDEX IF NOT EXISTS", "INDEX CONCURRENTLY IF NOT EXISTS", 1);
            let name = step.sql.split('"').nth(1).unwrap_or("").to_string();
            for attempt in 0..3 {
                c.batch_execute(&sql).await?;
                // A concurrent build that failed leaves an INVALID index that IF NOT EXISTS would skip.
                let valid: Option<bool> = c
                    .query_opt(
                        "SELECT i.indisvalid FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_namespace n ON n.oid = x.relnamespace WHERE n.nspname = $1 AND x.relname = $2",
                        &[&schema, &name],
                    )
                    .await?
                    .map(|r| r.get(0));
                if valid != Some(false) {
                    return Ok(());
                }
                c.batch_execute(&format!(
                    "DROP INDEX CONCURRENTLY IF EXISTS {}",
                    quote_qualified(schema, &name)
                ))
                .await?;
                if attempt == 2 {
                    return Err(Error::Refused(format!(
                        "index {name} stayed invalid after 3 builds"
                    )));
                }
            }
        }
        _ => c.batch_execute(&step.sql).await?,
    }
    Ok(())
}

/// Sets every identity sequence past the largest value in its column.
pub async fn sync_identities(c: &Client, plan: &MovePlan) -> Result<()> {
    for t in &plan.tables {
        for col in t.columns.iter().filter(|c| c.identity) {
            let table = quote_qualified(&plan.target_schema, &t.target);
            c.batch_execute(&format!(
                "SELECT setval(pg_get_serial_sequence({}, {}), coalesce((SELECT max({}) FROM {table}), 0) + 1, false)",
                quote_literal(&table),
                quote_literal(&col.target),
                quote_ident(&col.target)
            ))
            .await?;
        }
    }
    Ok(())
}

/// The identity column of a table, if any: (sequence name, column).
pub async fn identity_sequence(
    c: &impl GenericClient,
    schema: &str,
    t: &TablePlan,
) -> Result<Option<(String, i64)>> {
    let Some(col) = t.columns.iter().find(|c| c.identity) else {
        return Ok(None);
    };
    let table = quote_qualified(schema, &t.target);
    let row = c
        .query_one(
            "SELECT pg_get_serial_sequence($1, $2), (SELECT last_value FROM pg_sequences WHERE format('%I.%I', schemaname, sequencename) = pg_get_serial_sequence($1, $2))",
            &[&table, &col.target],
        )
        .await?;
    let seq: Option<String> = row.get(0);
    Ok(seq.map(|s| (s, row.get::<_, Option<i64>>(1).unwrap_or(0))))
}

/// Drops the unique indexes of `tables` and the foreign keys from or to them (a re-copy).
pub async fn drop_constraints_of(
    c: &impl GenericClient,
    plan: &MovePlan,
    tables: &[String],
) -> Result<()> {
    for t in &plan.tables {
        for fk in &t.foreign_keys {
            if tables.contains(&t.source) || tables.contains(&fk.parent) {
                c.batch_execute(&format!(
                    "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}",
                    quote_qualified(&plan.target_schema, &t.target),
                    quote_ident(&fk.name)
                ))
                .await?;
            }
        }
        if tables.contains(&t.source) {
            for s in t
                .post
                .iter()
                .filter(|s| s.kind == PostStepKind::UniqueIndex)
            {
                if let Some(name) = s.sql.split('"').nth(1) {
                    c.batch_execute(&format!(
                        "DROP INDEX IF EXISTS {}",
                        quote_qualified(&plan.target_schema, name)
                    ))
                    .await?;
                }
            }
        }
    }
    Ok(())
}

/// Drops what the move created on the target: its tables, trigger functions and (when the move
/// created it) the schema, in the caller's transaction.
pub async fn drop_created(
    c: &impl GenericClient,
    plan: &MovePlan,
    created_schema: bool,
) -> Result<()> {
    for t in &plan.tables {
        c.batch_execute(&format!(
            "DROP TABLE IF EXISTS {} CASCADE",
            quote_qualified(&plan.target_schema, &t.target)
        ))
        .await?;
        for s in t.post.iter().filter(|s| s.kind == PostStepKind::Trigger) {
            if let Some(func) = s
                .sql
                .strip_prefix("CREATE OR REPLACE FUNCTION ")
                .and_then(|r| r.split("()").next())
            {
                c.batch_execute(&format!("DROP FUNCTION IF EXISTS {func}()"))
                    .await?;
            }
        }
    }
    if created_schema {
        let left: i64 = c
            .query_one("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1", &[&plan.target_schema])
            .await?
            .get(0);
        if left == 0 {
            c.batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {}",
                quote_ident(&plan.target_schema)
            ))
            .await?;
        }
    }
    Ok(())
}
