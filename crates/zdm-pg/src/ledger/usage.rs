//! Ledger state that steers running work from outside: the manual throttle, and the writes the
//! dual-write triggers saw through a migration's old version.

use super::events::{EventLevel, NewEvent};
use super::Ledger;
use crate::error::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Client;

/// Writes through an old version, summed up.
#[derive(Debug, Clone, Serialize)]
pub struct OldWrites {
    /// Noted rows (each: one session, at most one every 10 s).
    pub noted: i64,
    pub last_at: DateTime<Utc>,
    /// Who wrote last: `user (application) pid N`.
    pub last_by: String,
}

impl Ledger {
    /// The manual throttle: (engaged, reason), None when never set. Read before every backfill
    /// batch, so no ledger-version check: the runner asking has brought the ledger up to date.
    pub async fn throttle(&self, c: &Client) -> Result<Option<(bool, Option<String>)>> {
        let row = c
            .query_opt(&self.sql("SELECT engaged, reason FROM {s}.throttle"), &[])
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Engage or release the manual throttle, logged as an event.
    pub async fn set_throttle(
        &self,
        c: &Client,
        engaged: bool,
        reason: Option<&str>,
    ) -> Result<()> {
        c.execute(
            &self.sql(
                "INSERT INTO {s}.throttle (engaged, reason) VALUES ($1, $2) \
                 ON CONFLICT (singleton) DO UPDATE SET engaged = EXCLUDED.engaged, reason = EXCLUDED.reason, \
                 set_by = session_user, set_at = clock_timestamp()",
            ),
            &[&engaged, &reason],
        )
        .await?;
        let message = match (engaged, reason) {
            (true, Some(r)) => format!("throttle engaged by hand: {r}"),
            (true, None) => "throttle engaged by hand".to_string(),
            (false, _) => "throttle released by hand".to_string(),
        };
        let level = if engaged {
            EventLevel::Warn
        } else {
            EventLevel::Info
        };
        self.event(c, NewEvent::ledger(level, message)).await
    }

    /// Writes through migration `id`'s old version noted within `window`.
    pub async fn old_writes(
        &self,
        c: &Client,
        id: &str,
        window: std::time::Duration,
    ) -> Result<Option<OldWrites>> {
        if self.version(c).await?.unwrap_or(0) < 7 {
            return Ok(None);
        }
        let row = c
            .query_opt(
                &self.sql(
                    "SELECT count(*) OVER (), at, format('%s (%s) pid %s', usename, coalesce(nullif(application_name, ''), 'no application name'), pid) \
                       FROM {s}.old_version_writes \
                      WHERE migration_id = $1 AND at > clock_timestamp() - make_interval(secs => $2) \
                      ORDER BY at DESC LIMIT 1",
                ),
                &[&id, &window.as_secs_f64()],
            )
            .await?;
        Ok(row.map(|r| OldWrites {
            noted: r.get(0),
            last_at: r.get(1),
            last_by: r.get(2),
        }))
    }

    /// Drop the noted writes of a migration that has ended (they only ever gate its complete).
    pub async fn forget_old_writes(&self, c: &Client, id: &str) -> Result<()> {
        if self.version(c).await?.unwrap_or(0) < 7 {
            return Ok(());
        }
        c.execute(
            &self.sql("DELETE FROM {s}.old_version_writes WHERE migration_id = $1"),
            &[&id],
        )
        .await?;
        Ok(())
    }

    /// The last write through migration `id`'s old version, however long ago.
    pub async fn last_old_write(&self, c: &Client, id: &str) -> Result<Option<DateTime<Utc>>> {
        if self.version(c).await?.unwrap_or(0) < 7 {
            return Ok(None);
        }
        let row = c
            .query_one(
                &self.sql("SELECT max(at) FROM {s}.old_version_writes WHERE migration_id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.get(0))
    }
}
