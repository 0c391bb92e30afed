//! Sparing a busy production database: with a batch target the full pass reads key ranges
//! sized to take about that long, one at a time per side, and between ranges it pauses and
//! waits while any replica lags more than allowed (as gh-ost and zdm's backfill do).

use crate::Result;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A replica whose lag holds the scan back.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)] // a few per run
pub enum Replica {
    /// `Seconds_Behind_Master` (NULL, replication stopped, counts as lagging).
    Mysql(zdm_mysql::SourceSpec),
    /// A streaming standby: time since the last replayed transaction, 0 when all is replayed.
    Postgres(zdm_pg::ConnectionSpec),
}

impl Replica {
    pub fn parse(url: &str) -> Result<Replica> {
        if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            Ok(Replica::Mysql(zdm_mysql::SourceSpec::parse(url)?))
        } else {
            Ok(Replica::Postgres(
                zdm_pg::ConnectionSpec::parse(url).map_err(zdm_pg::Error::from)?,
            ))
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Replica::Mysql(s) => s.redacted().to_string(),
            Replica::Postgres(s) => s.redacted().to_string(),
        }
    }

    /// Seconds behind its primary (`f64::INFINITY` when it does not replicate).
    pub async fn lag(&self) -> Result<f64> {
        match self {
            Replica::Mysql(spec) => {
                use mysql_async::prelude::*;
                let mut c = spec.connect(crate::side::MYSQL_SETUP).await?;
                let row: Option<mysql_async::Row> = c
                    .query_first("SHOW SLAVE STATUS")
                    .await
                    .map_err(zdm_mysql::Error::from)?;
                let _ = c.disconnect().await;
                let behind = row
                    .and_then(|r| r.get_opt::<Option<u64>, _>("Seconds_Behind_Master"))
                    .and_then(|v| v.ok())
                    .flatten();
                Ok(behind.map(|s| s as f64).unwrap_or(f64::INFINITY))
            }
            Replica::Postgres(spec) => {
                let c = spec
                    .connect("zdm verify lag")
                    .await
                    .map_err(zdm_pg::Error::from)?;
                let lag: Option<f64> = c
                    .query_one(
                        "SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL \
                                     WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
                                     ELSE greatest(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8, 0) END",
                        &[],
                    )
                    .await?
                    .get(0);
                Ok(lag.unwrap_or(f64::INFINITY))
            }
        }
    }
}

#[derive(Clone, Default)]
pub struct Throttle {
    /// Read the full pass in key ranges taking about this long (integer keys); `None`: in a
    /// few large ranges at full speed.
    pub batch_target: Option<Duration>,
    /// Pause after each range.
    pub pause: Duration,
    /// Wait between ranges while a replica lags more than this.
    pub max_replica_lag: Option<Duration>,
    pub replicas: Vec<Replica>,
    waited_micros: Arc<AtomicU64>,
    lag_waits: Arc<AtomicU64>,
}

impl Throttle {
    pub fn new(
        batch_target: Option<Duration>,
        pause: Duration,
        max_replica_lag: Option<Duration>,
        replicas: Vec<Replica>,
    ) -> Throttle {
        Throttle {
            batch_target,
            pause,
            max_replica_lag,
            replicas,
            ..Throttle::default()
        }
    }

    /// Time spent paused or waiting for replicas so far.
    pub fn throttled(&self) -> Duration {
        Duration::from_micros(self.waited_micros.load(Ordering::Relaxed))
    }

    /// How many times a replica's lag held the scan back.
    pub fn lag_waits(&self) -> u64 {
        self.lag_waits.load(Ordering::Relaxed)
    }

    /// Between two ranges: the pause, then as long as any replica lags too much.
    pub async fn between(&self) -> Result<()> {
        let began = Instant::now();
        if !self.pause.is_zero() {
            tokio::time::sleep(self.pause).await;
        }
        if let Some(max) = self.max_replica_lag {
            let mut counted = false;
            loop {
                let mut worst = 0f64;
                for r in &self.replicas {
                    worst = worst.max(r.lag().await?);
                }
                if worst <= max.as_secs_f64() {
                    break;
                }
                if !counted {
                    self.lag_waits.fetch_add(1, Ordering::Relaxed);
                    counted = true;
                    tracing::info!(lag_seconds = worst, "replica lag above the limit: waiting");
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        self.waited_micros
            .fetch_add(began.elapsed().as_micros() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// Key ranges of about `target` duration: the width adapts to the last range's time, changing
/// by at most 2x per range.
pub struct Ranges {
    next: i128,
    hi: i128,
    width: i128,
}

impl Ranges {
    pub fn new(lo: i128, hi: i128, first_width: i128) -> Ranges {
        Ranges {
            next: lo,
            hi,
            width: first_width.max(1),
        }
    }

    /// The next `[from, to)` range, if any is left.
    pub fn next_range(&mut self) -> Option<(i128, i128)> {
        if self.next > self.hi {
            return None;
        }
        let from = self.next;
        let to = from.saturating_add(self.width);
        self.next = to;
        Some((from, to))
    }

    pub fn took(&mut self, took: Duration, target: Duration) {
        let factor = (target.as_secs_f64() / took.as_secs_f64().max(0.001)).clamp(0.5, 2.0);
        self.width = ((self.width as f64 * factor) as i128).max(100);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_key_once_and_adapt() {
        let mut r = Ranges::new(-5, 1000, 10);
        let mut covered = Vec::new();
        let mut widths = Vec::new();
        while let Some((a, b)) = r.next_range() {
            covered.push((a, b));
            widths.push(b - a);
            r.took(Duration::from_millis(10), Duration::from_millis(40));
        }
        assert_eq!(covered[0].0, -5);
        assert!(covered.last().unwrap().1 > 1000);
        assert!(covered.windows(2).all(|w| w[0].1 == w[1].0), "{covered:?}");
        assert!(widths[1] > widths[0], "fast ranges grow: {widths:?}");
    }
}
