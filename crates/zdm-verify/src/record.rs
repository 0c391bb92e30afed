//! Verification results in the target's ledger (`verify_runs`, ledger step 5). Failed runs are
//! recorded too: the latest row is what "verified" means.

use crate::{Report, Result};
use serde::Serialize;
use tokio_postgres::Client;
use zdm_pg::Ledger;

pub struct Run<'a> {
    pub job_id: Option<&'a str>,
    pub source: &'a str,
    pub target: &'a str,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub source_position: Option<String>,
    pub applied_position: Option<String>,
}

/// Records a finished run (`Ok`) or a failed one (`Err` text) when the target has a ledger.
pub async fn record(
    c: &Client,
    ledger: &Ledger,
    run: &Run<'_>,
    outcome: std::result::Result<&Report, String>,
) -> Result<bool> {
    if !ledger.exists(c).await? {
        return Ok(false);
    }
    ledger.init(c).await?;
    let (equal, differences, rows, tables, error) = match outcome {
        Ok(r) => (
            r.equal,
            r.tables.iter().map(|t| t.difference_count as i64).sum::<i64>(),
            r.tables.iter().map(|t| t.source_rows.max(t.target_rows)).sum::<i64>(),
            serde_json::to_value(r.tables.iter().map(|t| serde_json::json!({
                "name": t.name, "source_rows": t.source_rows, "target_rows": t.target_rows, "differences": t.difference_count
            })).collect::<Vec<_>>()).unwrap(),
            None,
        ),
        Err(e) => (false, 0, 0, serde_json::json!([]), Some(e)),
    };
    c.execute(
        &ledger.sql(
            "INSERT INTO {s}.verify_runs (job_id, source, target, equal, differences, rows_compared, tables, error, source_position, applied_position, started_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        ),
        &[&run.job_id, &run.source, &run.target, &equal, &differences, &rows, &tables, &error, &run.source_position, &run.applied_position, &run.started_at],
    )
    .await?;
    Ok(true)
}

#[derive(Debug, Clone, Serialize)]
pub struct LastRun {
    pub equal: bool,
    pub differences: i64,
    pub rows_compared: i64,
    pub error: Option<String>,
    pub source_position: Option<String>,
    pub finished_at: chrono::DateTime<chrono::Utc>,
}

/// The latest run (of a job, or any).
pub async fn last(c: &Client, ledger: &Ledger, job_id: Option<&str>) -> Result<Option<LastRun>> {
    let exists: bool = c
        .query_one(
            "SELECT to_regclass(format('%I.verify_runs', $1::text)) IS NOT NULL",
            &[&ledger.schema()],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let row = c
        .query_opt(
            &ledger.sql("SELECT equal, differences, rows_compared, error, source_position, finished_at FROM {s}.verify_runs WHERE job_id IS NOT DISTINCT FROM $1 ORDER BY id DESC LIMIT 1"),
            &[&job_id],
        )
        .await?;
    Ok(row.map(|r| LastRun {
        equal: r.get(0),
        differences: r.get(1),
        rows_compared: r.get(2),
        error: r.get(3),
        source_position: r.get(4),
        finished_at: r.get(5),
    }))
}

/// The latest run of each job (and of runs outside any job, `job: None`), for the status page
/// and the metrics.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub job: Option<String>,
    pub equal: bool,
    pub differences: i64,
    pub rows_compared: i64,
    pub rows_per_second: Option<f64>,
    pub error: Option<String>,
    /// `[{name, source_rows, target_rows, differences}]`.
    pub tables: serde_json::Value,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: chrono::DateTime<chrono::Utc>,
}

pub async fn latest_runs(c: &Client, ledger: &Ledger) -> Result<Vec<RunSummary>> {
    let rows = c
        .query(
            &ledger.sql(
                "SELECT DISTINCT ON (job_id) job_id, equal, differences, rows_compared, \
                 rows_compared / nullif(extract(epoch FROM finished_at - started_at)::float8, 0), \
                 error, tables, started_at, finished_at \
                 FROM {s}.verify_runs ORDER BY job_id, id DESC",
            ),
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| RunSummary {
            job: r.get(0),
            equal: r.get(1),
            differences: r.get(2),
            rows_compared: r.get(3),
            rows_per_second: r.get(4),
            error: r.get(5),
            tables: r.get(6),
            started_at: r.get(7),
            finished_at: r.get(8),
        })
        .collect())
}
