//! `zdm status`: every migration of the directory and the ledger, with its state and what to do
//! next. A migration left `running` (or `completing` / `rolling_back`) while no runner holds the
//! lock was interrupted: its runner died, and `zdm migrate` resumes it.

use crate::error::Result;
use crate::ledger::{Ledger, MigrationRecord};
use crate::runner_lock::{self, LockHolder};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Client;
use zdm_core::source::MigrationFile;
use zdm_core::state::MigrationState;

#[derive(Debug, Clone, Serialize)]
pub struct StatusEntry {
    pub id: String,
    pub kind: String,
    pub state: MigrationState,
    /// In flight but no runner holds the lock: the runner died.
    pub interrupted: bool,
    pub file_present: bool,
    /// Applied, and the file has changed since.
    pub file_modified: bool,
    pub baselined: bool,
    pub failed_phase: Option<String>,
    pub resumable: Option<bool>,
    pub last_error: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub applied_by: Option<String>,
    /// Operation files: the schema of views this migration's version uses.
    pub version_schema: Option<String>,
    /// Backfill progress of a migration that is not completed yet.
    pub backfill: Vec<BackfillStatus>,
    /// Recorded before the contract: the restore point (when the role could create one) and
    /// the WAL position point-in-time recovery would go back to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_point: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_lsn: Option<String>,
    /// While expanded: the last write through the old version the dual-write triggers noted
    /// (`zdm complete` waits for --old-writes-window without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_version_last_write_at: Option<DateTime<Utc>>,
    /// What the operator can do next, in words.
    pub next: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackfillStatus {
    pub table: String,
    pub rows_done: i64,
    /// The planner's estimate when the backfill began.
    pub rows_estimated: Option<i64>,
    pub finished: bool,
    /// Recent rate, pauses included (ledgers from before version 6 have none).
    pub rows_per_second: Option<f64>,
    /// Seconds left at that rate, while unfinished.
    pub eta_seconds: Option<f64>,
}

async fn backfill_status(
    client: &Client,
    ledger: &Ledger,
    id: &str,
    version: Option<i32>,
) -> Result<Vec<BackfillStatus>> {
    let rate = if version >= Some(crate::ledger::figures::SINCE_VERSION) {
        "rows_per_second"
    } else {
        "NULL::float8"
    };
    let rows = client
        .query(
            &ledger.sql(&format!("SELECT table_name, rows_done, rows_total, finished, {rate} FROM {{s}}.backfill_progress WHERE migration_id = $1 ORDER BY table_name")),
            &[&id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let rows_done: i64 = r.get(1);
            let rows_estimated: Option<i64> = r.get(2);
            let finished: bool = r.get(3);
            let rows_per_second: Option<f64> = r.get(4);
            let eta_seconds = match (finished, rows_estimated, rows_per_second) {
                (false, Some(total), Some(rate)) if rate > 0.0 => {
                    Some((total - rows_done).max(0) as f64 / rate)
                }
                _ => None,
            };
            BackfillStatus {
                table: r.get(0),
                rows_done,
                rows_estimated,
                finished,
                rows_per_second,
                eta_seconds,
            }
        })
        .collect())
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub schema: String,
    pub ledger_version: Option<i32>,
    pub runner: Option<LockHolder>,
    pub migrations: Vec<StatusEntry>,
}

fn next_step(
    state: MigrationState,
    interrupted: bool,
    resumable: Option<bool>,
    running_now: bool,
) -> String {
    use MigrationState::*;
    match state {
        Pending => "apply with `zdm migrate`".into(),
        Running | Completing | RollingBack if running_now => "a runner is working on it".into(),
        Running | Completing | RollingBack if interrupted => {
            "interrupted (its runner died): `zdm migrate` resumes it".into()
        }
        Running | Completing | RollingBack => "in progress".into(),
        Expanded => "both versions live: `zdm complete` or `zdm rollback`".into(),
        Completed => String::new(),
        RolledBack => "rolled back: `zdm migrate` applies it again".into(),
        Failed if resumable == Some(true) => {
            "failed: fix the cause (or the file) and run `zdm migrate` to resume".into()
        }
        Failed => "failed: see the error; `zdm rollback` undoes what was done".into(),
    }
}

pub async fn status(
    client: &Client,
    ledger: &Ledger,
    files: &[MigrationFile],
) -> Result<StatusReport> {
    let version = ledger.version(client).await?;
    let records: Vec<MigrationRecord> = if version.is_some() {
        ledger.records(client).await?
    } else {
        Vec::new()
    };
    let runner = runner_lock::holder(client, ledger.schema()).await?;
    let running_now = runner.is_some();

    let mut entries = Vec::new();
    for r in &records {
        let file = files.iter().find(|f| f.id == r.id);
        let interrupted = r.state.is_in_flight() && !running_now;
        let backfill = if r.kind == "operations" && r.state != MigrationState::Completed {
            backfill_status(client, ledger, &r.id, version).await?
        } else {
            Vec::new()
        };
        let old_version_last_write_at = if r.state == MigrationState::Expanded {
            ledger.last_old_write(client, &r.id).await?
        } else {
            None
        };
        entries.push(StatusEntry {
            id: r.id.clone(),
            kind: r.kind.clone(),
            state: r.state,
            interrupted,
            file_present: file.is_some(),
            file_modified: file.is_some_and(|f| f.checksum != r.checksum),
            baselined: r.baselined,
            failed_phase: r.failed_phase.clone(),
            resumable: r.resumable,
            last_error: r.last_error.clone(),
            started_at: r.started_at,
            finished_at: r
                .completed_at
                .or(r.rolled_back_at)
                .or(r.expanded_at)
                .or(r.failed_at),
            duration_ms: r.duration_ms,
            version_schema: r.version_schema.clone(),
            backfill,
            restore_point: r
                .progress
                .get("restore_point")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            restore_lsn: r
                .progress
                .get("restore_lsn")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            old_version_last_write_at,
            applied_by: Some(format!(
                "{}@{}",
                r.applied_by_user,
                r.applied_by_host.as_deref().unwrap_or("?")
            )),
            next: next_step(
                r.state,
                interrupted,
                r.resumable,
                running_now && r.state.is_in_flight(),
            ),
        });
    }
    for f in files
        .iter()
        .filter(|f| !records.iter().any(|r| r.id == f.id))
    {
        entries.push(StatusEntry {
            id: f.id.clone(),
            kind: f.kind().as_str().into(),
            state: MigrationState::Pending,
            interrupted: false,
            file_present: true,
            file_modified: false,
            baselined: false,
            failed_phase: None,
            resumable: None,
            last_error: None,
            started_at: None,
            finished_at: None,
            duration_ms: None,
            applied_by: None,
            version_schema: None,
            backfill: Vec::new(),
            restore_point: None,
            restore_lsn: None,
            old_version_last_write_at: None,
            next: next_step(MigrationState::Pending, false, None, false),
        });
    }
    // Ledger order first (what happened), then pending files in file order.
    Ok(StatusReport {
        schema: ledger.schema().to_string(),
        ledger_version: version,
        runner,
        migrations: entries,
    })
}
