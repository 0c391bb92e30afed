//! The snapshot copy. Tables are split into key ranges ("chunks", recorded in the ledger);
//! workers — threads of `zdm move start` and any `zdm move worker` on other machines — claim
//! chunks with a lease (`FOR UPDATE SKIP LOCKED`), stream the range's rows from the source and
//! write them with binary COPY. A chunk's rows and its `done` mark commit in one target
//! transaction, so a chunk is copied exactly once however workers die; a dead worker's chunk
//! is taken over when its lease runs out. Memory per worker is one row plus COPY's buffer.
//!
//! Chunks are read at different times; the binlog replay that follows (from a position taken
//! before the first chunk) brings every row to the source's state, see [`crate::follow`].

use crate::convert::{ColumnPlan, MovePlan, TablePlan, ValueKind};
use crate::error::{Error, Result};
use crate::job::{self, Chunk};
use crate::key;
use crate::value::{to_pg, ConvertOptions, Origin, PgValue};
use futures_util::{pin_mut, StreamExt};
use mysql_async::prelude::*;
use mysql_async::{Conn, Row, Value};
use serde_json::Value as Json;
use std::time::Duration;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Client;
use zdm_core::ident::{quote_ident, quote_qualified};
use zdm_mysql::trace::quote_ident as my_ident;
use zdm_pg::Ledger;

/// Session settings of every source connection: values in UTC and UTF-8, as the conversion expects.
pub const SOURCE_SETUP: &[&str] = &[
    "SET time_zone = '+00:00'",
    "SET NAMES utf8mb4",
    "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
];

#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub chunk_rows: u64,
    pub lease: Duration,
    pub convert: ConvertOptions,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            chunk_rows: 50_000,
            lease: Duration::from_secs(60),
            convert: ConvertOptions::default(),
        }
    }
}

fn select_list(t: &TablePlan) -> String {
    t.columns
        .iter()
        .map(|c| my_ident(&c.source))
        .collect::<Vec<_>>()
        .join(", ")
}

fn key_list(t: &TablePlan) -> String {
    t.key
        .iter()
        .map(|k| my_ident(k))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `(k1, k2) >= (?, ?)` spelled out so that every server uses the key's index for it.
fn tuple_compare(keys: &[String], op_last: &str) -> String {
    let mut ors = Vec::new();
    for i in 0..keys.len() {
        let mut ands: Vec<String> = keys[..i]
            .iter()
            .map(|k| format!("{} = ?", my_ident(k)))
            .collect();
        let op = if i + 1 == keys.len() {
            op_last
        } else {
            if op_last.starts_with('<') {
                "<"
            } else {
                ">"
            }
        };
        ands.push(format!("{} {op} ?", my_ident(&keys[i])));
        ors.push(format!("({})", ands.join(" AND ")));
    }
    format!("({})", ors.join(" OR "))
}

/// Parameters for [`tuple_compare`]: k1; k1, k2; k1, k2, k3 ...
fn tuple_params(values: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for i in 0..values.len() {
        out.extend(values[..=i].iter().cloned());
    }
    out
}

fn bound_values(b: &Option<Json>) -> Option<Vec<Value>> {
    b.as_ref()
        .and_then(|j| j.as_array())
        .map(|a| a.iter().map(key::from_json).collect())
}

/// Chunk bounds for a table: arithmetic ranges for one integer key, otherwise boundaries found
/// by walking the key (one index scan).
pub async fn plan_chunks(
    src: &mut Conn,
    database: &str,
    t: &TablePlan,
    chunk_rows: u64,
) -> Result<Vec<(Option<Json>, Option<Json>)>> {
    let from = format!("{}.{}", my_ident(database), my_ident(&t.source));
    let integer_key = t.key.len() == 1
        && t.key_columns().first().is_some_and(|c| {
            matches!(c.kind, ValueKind::Int2 | ValueKind::Int4 | ValueKind::Int8)
                && c.source_data_type != "bit"
        });
    if integer_key {
        let k = my_ident(&t.key[0]);
        let row: Option<(Option<i128>, Option<i128>)> = src
            .query_first(format!(
                "SELECT CAST(MIN({k}) AS CHAR), CAST(MAX({k}) AS CHAR) FROM {from}"
            ))
            .await
            .map_err(zdm_mysql::Error::from)?
            .map(|(a, b): (Option<String>, Option<String>)| {
                (
                    a.and_then(|s| s.parse().ok()),
                    b.and_then(|s| s.parse().ok()),
                )
            });
        let Some((Some(min), Some(max))) = row else {
            return Ok(vec![(None, None)]);
        };
        let est = t.rows_estimated.max(1) as i128;
        let chunks = (est / chunk_rows as i128).clamp(1, 100_000);
        let step = ((max - min + 1) / chunks).max(1);
        let mut bounds = Vec::new();
        let mut lo: Option<i128> = None;
        let mut next = min + step;
        while next <= max {
            bounds.push((
                lo.map(|l| serde_json::json!([l.to_string().parse::<Json>().unwrap()])),
                Some(serde_json::json!([next
                    .to_string()
                    .parse::<Json>()
                    .unwrap()])),
            ));
            lo = Some(next);
            next += step;
        }
        bounds.push((
            lo.map(|l| serde_json::json!([l.to_string().parse::<Json>().unwrap()])),
            None,
        ));
        return Ok(bounds);
    }
    let keys = key_list(t);
    let mut bounds = Vec::new();
    let mut lo: Option<Vec<Value>> = None;
    loop {
        let (sql, params) = match &lo {
            None => (format!("SELECT {keys} FROM {from} ORDER BY {keys} LIMIT 1 OFFSET {chunk_rows}"), vec![]),
            Some(l) => (
                format!("SELECT {keys} FROM {from} WHERE {} ORDER BY {keys} LIMIT 1 OFFSET {chunk_rows}", tuple_compare(&t.key, ">=")),
                tuple_params(l),
            ),
        };
        let row: Option<Row> = src
            .exec_first(sql, params)
            .await
            .map_err(zdm_mysql::Error::from)?;
        let lo_json = lo
            .as_ref()
            .map(|l| Json::Array(l.iter().map(key::to_json).collect()));
        match row {
            None => {
                bounds.push((lo_json, None));
                return Ok(bounds);
            }
            Some(r) => {
                let vals: Vec<Value> = r.unwrap();
                bounds.push((
                    lo_json,
                    Some(Json::Array(vals.iter().map(key::to_json).collect())),
                ));
                lo = Some(vals);
            }
        }
    }
}

/// Column types of the target table, in plan order (binary COPY needs them).
async fn target_types(pg: &Client, schema: &str, t: &TablePlan) -> Result<Vec<Type>> {
    let cols: Vec<String> = t.columns.iter().map(|c| quote_ident(&c.target)).collect();
    let stmt = pg
        .prepare(&format!(
            "SELECT {} FROM {} LIMIT 0",
            cols.join(", "),
            quote_qualified(schema, &t.target)
        ))
        .await?;
    Ok(stmt.columns().iter().map(|c| c.type_().clone()).collect())
}

pub fn convert_row(
    t: &TablePlan,
    values: &[Value],
    origin: Origin,
    opts: ConvertOptions,
) -> Result<Vec<PgValue>> {
    let mut out = Vec::with_capacity(values.len());
    for (c, v) in t.columns.iter().zip(values) {
        out.push(to_pg(v, c, origin, opts).map_err(|e| value_error(t, c, values, e.0))?);
    }
    Ok(out)
}

fn value_error(t: &TablePlan, c: &ColumnPlan, values: &[Value], message: String) -> Error {
    let key_values: Vec<Value> = t
        .key
        .iter()
        .filter_map(|k| {
            t.columns
                .iter()
                .position(|c| &c.source == k)
                .map(|i| values.get(i).cloned().unwrap_or(Value::NULL))
        })
        .collect();
    Error::Value {
        table: t.source.clone(),
        column: c.source.clone(),
        key: key::describe(&t.key, &key_values),
        message,
    }
}

/// Copies one claimed chunk; returns the rows copied, or None when the claim was lost.
#[allow(clippy::too_many_arguments)]
pub async fn copy_chunk(
    src: &mut Conn,
    pg: &mut Client,
    ledger: &Ledger,
    plan: &MovePlan,
    job_id: &str,
    worker: &str,
    chunk: &Chunk,
    opts: &CopyOptions,
) -> Result<Option<i64>> {
    let t = plan
        .table(&chunk.table)
        .ok_or_else(|| Error::Refused(format!("chunk of unknown table {}", chunk.table)))?;
    let types = target_types(pg, &plan.target_schema, t).await?;
    let mut conds = Vec::new();
    let mut params = Vec::new();
    if let Some(lo) = bound_values(&chunk.lower) {
        conds.push(tuple_compare(&t.key, ">="));
        params.extend(tuple_params(&lo));
    }
    if let Some(hi) = bound_values(&chunk.upper) {
        conds.push(tuple_compare(&t.key, "<"));
        params.extend(tuple_params(&hi));
    }
    let sql = format!(
        "SELECT {} FROM {}.{}{} ORDER BY {}",
        select_list(t),
        my_ident(&plan.source_database),
        my_ident(&t.source),
        if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        },
        key_list(t)
    );
    let tx = pg.transaction().await?;
    let cols: Vec<String> = t.columns.iter().map(|c| quote_ident(&c.target)).collect();
    let sink = tx
        .copy_in(&format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            quote_qualified(&plan.target_schema, &t.target),
            cols.join(", ")
        ))
        .await?;
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    let mut rows = 0i64;
    {
        let stream = src
            .exec_stream::<Row, _, _>(sql, params)
            .await
            .map_err(zdm_mysql::Error::from)?;
        pin_mut!(stream);
        while let Some(row) = stream.next().await {
            let row = row.map_err(zdm_mysql::Error::from)?;
            let values: Vec<Value> = row.unwrap();
            let converted = convert_row(t, &values, Origin::Snapshot, opts.convert)?;
            let refs: Vec<&(dyn ToSql + Sync)> =
                converted.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            writer.as_mut().write(&refs).await?;
            rows += 1;
        }
    }
    writer.finish().await?;
    if !job::finish_chunk(&tx, ledger, job_id, chunk, worker, rows).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    tx.commit().await?;
    Ok(Some(rows))
}

/// What a worker did.
#[derive(Debug, Default, Clone, Copy)]
pub struct WorkerReport {
    pub chunks: u64,
    pub rows: i64,
}

/// Claims and copies chunks until none is left (or a stop is requested).
pub async fn run_worker(
    source: &zdm_mysql::SourceSpec,
    target: &zdm_pg::ConnectionSpec,
    ledger: &Ledger,
    plan: &MovePlan,
    job_id: &str,
    worker: &str,
    opts: &CopyOptions,
) -> Result<WorkerReport> {
    let control = target
        .connect(&format!("zdm move worker {worker}"))
        .await
        .map_err(zdm_pg::Error::from)?;
    let mut data = target
        .connect(&format!("zdm move copy {worker}"))
        .await
        .map_err(zdm_pg::Error::from)?;
    data.batch_execute("SET synchronous_commit = off").await?;
    let mut src = source.connect(SOURCE_SETUP).await?;
    let mut report = WorkerReport::default();
    loop {
        if job::stop_requested(&control, ledger, job_id).await? {
            break;
        }
        let Some(chunk) = job::claim_chunk(&control, ledger, job_id, worker, opts.lease).await?
        else {
            if job::chunks_left(&control, ledger, job_id).await? == 0 {
                break;
            }
            // Chunks still held by other workers: one may die and its lease run out.
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        let renew = async {
            loop {
                tokio::time::sleep(opts.lease / 3).await;
                if !job::renew_lease(&control, ledger, job_id, &chunk, worker, opts.lease)
                    .await
                    .unwrap_or(false)
                {
                    return;
                }
            }
        };
        let copied = tokio::select! {
            r = copy_chunk(&mut src, &mut data, ledger, plan, job_id, worker, &chunk, opts) => r,
            _ = renew => Ok(None),
        };
        match copied {
            Ok(Some(rows)) => {
                report.chunks += 1;
                report.rows += rows;
            }
            Ok(None) => {
                tracing::warn!(
                    "lost the claim on chunk {} of {}",
                    chunk.chunk_no,
                    chunk.table
                );
            }
            Err(e) => {
                // Give the chunk back so another attempt (or worker) can take it.
                let _ = control
                    .execute(
                        &ledger.sql("UPDATE {s}.move_chunks SET state = 'pending', claimed_by = NULL, lease_until = NULL WHERE job_id = $1 AND source_table = $2 AND chunk_no = $3 AND claimed_by = $4 AND state = 'claimed'"),
                        &[&job_id, &chunk.table, &chunk.chunk_no, &worker],
                    )
                    .await;
                return Err(e);
            }
        }
    }
    let _ = src.disconnect().await;
    Ok(report)
}
