//! `zdm move verify --repair`: rows that verification found missing, changed or extra on the
//! target are re-copied from the source (or deleted) through the job's own conversion, each in
//! a transaction that locks the target row first, so a change the stream applies meanwhile
//! lands after the repair, never under it.

use crate::copy::{convert_row, SOURCE_SETUP};
use crate::error::{Error, Result};
use crate::job::Job;
use crate::value::{ConvertOptions, Origin, PgValue};
use mysql_async::prelude::*;
use tokio_postgres::types::ToSql;
use zdm_core::ident::{quote_ident, quote_qualified};
use zdm_mysql::trace::quote_ident as my_ident;

/// One key to repair (its values as `zdm verify` prints them, in key order). What is written
/// is decided by the source at repair time: its row, or a delete when it has none.
#[derive(Debug, Clone)]
pub struct Fix {
    pub key: Vec<String>,
}

/// Repairs `fixes` of source table `table`; returns how many rows were written or deleted.
pub async fn repair(
    source: &zdm_mysql::SourceSpec,
    target: &zdm_pg::ConnectionSpec,
    job: &Job,
    table: &str,
    fixes: &[Fix],
) -> Result<usize> {
    let t = job
        .plan
        .table(table)
        .ok_or_else(|| Error::Refused(format!("the job does not move {table}")))?;
    let mut src = source.connect(SOURCE_SETUP).await?;
    let mut pg = target
        .connect("zdm move repair")
        .await
        .map_err(zdm_pg::Error::from)?;
    let qt = quote_qualified(&job.plan.target_schema, &t.target);
    let key_cols: Vec<&crate::convert::ColumnPlan> = t.key_columns();
    // Key values arrive as text: cast to each key column's type on the target.
    let mut casts = Vec::new();
    for k in &key_cols {
        let ty: String = pg
            .query_one(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2",
                &[&qt, &k.target],
            )
            .await?
            .get(0);
        casts.push(ty);
    }
    let key_match: Vec<String> = key_cols
        .iter()
        .zip(&casts)
        .enumerate()
        .map(|(i, (k, ty))| {
            format!(
                "{} = CAST(${}::text AS {ty})",
                quote_ident(&k.target),
                i + 1
            )
        })
        .collect();
    let cols: Vec<String> = t.columns.iter().map(|c| quote_ident(&c.target)).collect();
    let key_targets: Vec<String> = key_cols.iter().map(|k| quote_ident(&k.target)).collect();
    let sets: Vec<String> = cols
        .iter()
        .filter(|c| !key_targets.contains(c))
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    let upsert = format!(
        "INSERT INTO {qt} ({}) OVERRIDING SYSTEM VALUE VALUES ({}) ON CONFLICT ({}) {}",
        cols.join(", "),
        (1..=cols.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", "),
        key_targets.join(", "),
        if sets.is_empty() {
            "DO NOTHING".to_string()
        } else {
            format!("DO UPDATE SET {}", sets.join(", "))
        }
    );
    let select = format!(
        "SELECT {} FROM {}.{} WHERE {}",
        t.columns
            .iter()
            .map(|c| my_ident(&c.source))
            .collect::<Vec<_>>()
            .join(", "),
        my_ident(&job.plan.source_database),
        my_ident(&t.source),
        key_cols
            .iter()
            .map(|k| format!("{} = ?", my_ident(&k.source)))
            .collect::<Vec<_>>()
            .join(" AND ")
    );
    let strip_nul = job
        .options
        .get("strip_nul")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let mut done = 0;
    for fix in fixes {
        let tx = pg.transaction().await?;
        tx.batch_execute("SET LOCAL zdm.applying = 'on'").await?;
        let key_params: Vec<&(dyn ToSql + Sync)> =
            fix.key.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        // The target row first: the stream's next change to it waits for this transaction.
        tx.query(
            &format!(
                "SELECT 1 FROM {qt} WHERE {} FOR UPDATE",
                key_match.join(" AND ")
            ),
            &key_params,
        )
        .await?;
        let row: Option<mysql_async::Row> = src
            .exec_first(&select, fix.key.clone())
            .await
            .map_err(zdm_mysql::Error::from)?;
        match row {
            Some(r) => {
                let values: Vec<mysql_async::Value> = r.unwrap();
                let converted: Vec<PgValue> =
                    convert_row(t, &values, Origin::Snapshot, ConvertOptions { strip_nul })?;
                let params: Vec<&(dyn ToSql + Sync)> =
                    converted.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                tx.execute(&upsert, &params).await?;
            }
            None => {
                tx.execute(
                    &format!("DELETE FROM {qt} WHERE {}", key_match.join(" AND ")),
                    &key_params,
                )
                .await?;
            }
        }
        tx.commit().await?;
        done += 1;
    }
    let _ = src.disconnect().await;
    Ok(done)
}
