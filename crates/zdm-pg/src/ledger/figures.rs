//! The numbers behind the metrics (ledger step 6): per migration its lock-timeout retries and
//! duration, per backfilled table its batches. Read-only; the backfill and the retry loop write
//! them as they go.

use super::Ledger;
use crate::error::Result;
use tokio_postgres::Client;

#[derive(Debug, Clone, Default)]
pub struct MigrationFigures {
    pub id: String,
    pub state: String,
    pub lock_retries: i64,
    pub duration_ms: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct BackfillFigures {
    pub migration: String,
    /// The migration is neither completed nor rolled back.
    pub migration_in_flight: bool,
    pub table: String,
    pub rows_done: i64,
    pub rows_estimated: Option<i64>,
    pub finished: bool,
    pub rows_per_second: Option<f64>,
    pub batches: i64,
    pub batch_seconds: f64,
    /// Counts per bucket of `backfill::BATCH_BUCKETS`, then the count of longer batches.
    pub batch_buckets: Vec<i64>,
    pub throttled_seconds: serde_json::Value,
}

#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub migrations: Vec<MigrationFigures>,
    pub backfills: Vec<BackfillFigures>,
}

/// The first ledger version that has the figures.
pub const SINCE_VERSION: i32 = 6;

impl Ledger {
    pub async fn figures(&self, c: &Client) -> Result<Figures> {
        let migrations = c
            .query(
                &self.sql(
                    "SELECT id, state, lock_retries, duration_ms FROM {s}.migrations ORDER BY seq",
                ),
                &[],
            )
            .await?
            .iter()
            .map(|r| MigrationFigures {
                id: r.get(0),
                state: r.get(1),
                lock_retries: r.get(2),
                duration_ms: r.get(3),
            })
            .collect();
        let backfills = c
            .query(
                &self.sql(
                    "SELECT b.migration_id, m.state NOT IN ('completed', 'rolled_back'), b.table_name, b.rows_done, \
                     b.rows_total, b.finished, b.rows_per_second, b.batches, b.batch_seconds, b.batch_buckets, \
                     b.throttled_seconds \
                     FROM {s}.backfill_progress b JOIN {s}.migrations m ON m.id = b.migration_id \
                     ORDER BY m.seq, b.table_name",
                ),
                &[],
            )
            .await?
            .iter()
            .map(|r| BackfillFigures {
                migration: r.get(0),
                migration_in_flight: r.get(1),
                table: r.get(2),
                rows_done: r.get(3),
                rows_estimated: r.get(4),
                finished: r.get(5),
                rows_per_second: r.get(6),
                batches: r.get(7),
                batch_seconds: r.get(8),
                batch_buckets: r.get(9),
                throttled_seconds: r.get(10),
            })
            .collect();
        Ok(Figures {
            migrations,
            backfills,
        })
    }

    /// `health()` of the ledger: `healthy`, `running` or `failed`, with the reasons.
    pub async fn health(&self, c: &Client) -> Result<(String, serde_json::Value)> {
        let r = c
            .query_one(&self.sql("SELECT status, details FROM {s}.health()"), &[])
            .await?;
        Ok((r.get(0), r.get(1)))
    }
}
