//! One read of the ledger: everything `/api/status`, `/metrics`, the health endpoints and the
//! page show. Read-only, on a connection of its own; a read that fails yields a snapshot that
//! says so (`ledger_up: false`) rather than no answer.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio_postgres::Client;
use zdm_core::source::MigrationFile;
use zdm_pg::ledger::figures::{Figures, SINCE_VERSION};
use zdm_pg::ledger::Event;
use zdm_pg::runner::status::StatusReport;
use zdm_pg::Ledger;

/// How many audit events the page shows.
pub const RECENT_EVENTS: i64 = 50;

#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// `healthy`, `running` or `failed` (the ledger's `health()`).
    pub status: String,
    pub details: serde_json::Value,
}

/// A move as `zdm move status --json` reports it, plus its copy rate.
#[derive(Debug, Clone, Serialize)]
pub struct MoveSnapshot {
    #[serde(flatten)]
    pub report: zdm_move::run::StatusReport,
    /// Rows per second over the last five minutes of copying.
    pub copy_rows_per_second: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub generated_at: DateTime<Utc>,
    pub zdm_version: &'static str,
    /// The ledger database answered this read.
    pub ledger_up: bool,
    /// Why it did not (password-free: connection errors are scrubbed by the reader).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The fields of `zdm status --json`.
    #[serde(flatten)]
    pub status: Option<StatusReport>,
    pub health: Option<Health>,
    pub moves: Vec<MoveSnapshot>,
    pub verify: Vec<zdm_verify::record::RunSummary>,
    pub events: Vec<Event>,
    /// Per move job: `[unix seconds, lag seconds]` over the last hour, oldest first (kept by
    /// the serving process; a fresh process starts empty).
    pub lag_history: BTreeMap<String, Vec<(i64, f64)>>,
    /// How long the read took.
    pub read_seconds: f64,
    #[serde(skip)]
    pub figures: Figures,
}

impl Snapshot {
    pub fn down(error: String, read: Duration) -> Snapshot {
        Snapshot {
            generated_at: Utc::now(),
            zdm_version: env!("CARGO_PKG_VERSION"),
            ledger_up: false,
            error: Some(error),
            status: None,
            health: None,
            moves: Vec::new(),
            verify: Vec::new(),
            events: Vec::new(),
            lag_history: BTreeMap::new(),
            read_seconds: read.as_secs_f64(),
            figures: Figures::default(),
        }
    }

    /// The highest lag of a following move, if any follows.
    pub fn max_lag(&self) -> Option<f64> {
        self.moves
            .iter()
            .filter_map(|m| m.report.lag_seconds)
            .fold(None, |acc: Option<f64>, l| {
                Some(acc.map_or(l, |a| a.max(l)))
            })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Ledger(#[from] zdm_pg::Error),
    #[error(transparent)]
    Move(#[from] zdm_move::error::Error),
    #[error(transparent)]
    Verify(#[from] zdm_verify::Error),
    #[error("{0}")]
    Postgres(#[from] tokio_postgres::Error),
}

/// Reads the ledger at `ledger` through `c`. `files` are the migration files, when the server
/// was given a directory (they add `pending` entries, as `zdm status` does).
pub async fn read(
    c: &Client,
    ledger: &Ledger,
    files: &[MigrationFile],
) -> Result<Snapshot, ReadError> {
    let began = Instant::now();
    // One snapshot of the database for every query below, so the numbers agree with each other.
    c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let result = read_in_transaction(c, ledger, files).await;
    let _ = c.batch_execute("ROLLBACK").await;
    let mut snapshot = result?;
    snapshot.read_seconds = began.elapsed().as_secs_f64();
    Ok(snapshot)
}

async fn read_in_transaction(
    c: &Client,
    ledger: &Ledger,
    files: &[MigrationFile],
) -> Result<Snapshot, ReadError> {
    let status = zdm_pg::runner::status::status(c, ledger, files).await?;
    let current = status.ledger_version.is_some_and(|v| v >= SINCE_VERSION);
    let (health, figures, verify, rates) = if current {
        let (status, details) = ledger.health(c).await?;
        let rates = c
            .query(
                &ledger.sql("SELECT id, coalesce(sum(rows_per_second), 0)::float8 FROM {s}.progress WHERE kind = 'move' GROUP BY id"),
                &[],
            )
            .await?
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, f64>(1)))
            .collect::<BTreeMap<_, _>>();
        (
            Some(Health { status, details }),
            ledger.figures(c).await?,
            zdm_verify::record::latest_runs(c, ledger).await?,
            rates,
        )
    } else {
        (None, Figures::default(), Vec::new(), BTreeMap::new())
    };
    let mut moves = Vec::new();
    if current {
        for job in zdm_move::job::list(c, ledger).await? {
            let report = zdm_move::run::report(c, ledger, &job).await?;
            moves.push(MoveSnapshot {
                copy_rows_per_second: rates.get(&job.id).copied().unwrap_or(0.0),
                report,
            });
        }
    }
    let events = if status.ledger_version.is_some() {
        ledger.events(c, None, Some(RECENT_EVENTS)).await?
    } else {
        Vec::new()
    };
    Ok(Snapshot {
        generated_at: Utc::now(),
        zdm_version: env!("CARGO_PKG_VERSION"),
        ledger_up: true,
        error: None,
        status: Some(status),
        health,
        moves,
        verify,
        events,
        lag_history: BTreeMap::new(),
        read_seconds: 0.0,
        figures,
    })
}

/// Lag samples per job for the last hour, one per `every`.
#[derive(Debug, Default)]
pub struct LagHistory {
    samples: BTreeMap<String, Vec<(i64, f64)>>,
}

impl LagHistory {
    pub const WINDOW_SECONDS: i64 = 3600;

    pub fn record(&mut self, snapshot: &Snapshot, every: Duration) {
        let now = snapshot.generated_at.timestamp();
        for m in &snapshot.moves {
            let Some(lag) = m.report.lag_seconds else {
                continue;
            };
            let series = self.samples.entry(m.report.job.clone()).or_default();
            let due = series
                .last()
                .is_none_or(|(t, _)| now - t >= every.as_secs().max(1) as i64);
            if due {
                series.push((now, lag));
            }
        }
        for series in self.samples.values_mut() {
            series.retain(|(t, _)| now - t <= Self::WINDOW_SECONDS);
        }
        self.samples.retain(|_, s| !s.is_empty());
    }

    pub fn get(&self) -> BTreeMap<String, Vec<(i64, f64)>> {
        self.samples.clone()
    }
}
