//! Holding batch work back, as gh-ost does: before each batch the backfill asks [`Throttler`]
//! whether anything says wait, in this order:
//! - the manual throttle in the ledger (`zdm throttle on|off`, from any machine);
//! - a flag file (`--throttle-flag-file`): throttled while it exists;
//! - the user's query (`--throttle-query`): throttled while it returns true (an error in it
//!   throttles too, and is reported: a broken guard must not turn into no guard);
//! - the standbys' replay lag (`--max-replica-lag`), read on the primary from
//!   `pg_stat_replication`. `replay_lag` alone stops moving while replay is paused, so the lag
//!   is also measured as the age of the oldest WAL position the standby has not replayed (zdm
//!   samples the primary's WAL position at every check). A standby streaming at the first check
//!   that is gone later throttles until it is back (fail closed: a standby that fell behind far
//!   enough to drop its connection is the case the limit exists for); restart with
//!   `--max-replica-lag 0` to go on without it.
//!
//! Each episode is an event with its cause, and its time is added to the batch statistics under
//! the cause's name.

use crate::error::Result;
use crate::ledger::Ledger;
use std::collections::{BTreeSet, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

#[derive(Debug, Clone)]
pub struct ThrottleConfig {
    /// None: replica lag is not watched.
    pub max_replica_lag: Option<Duration>,
    pub query: Option<String>,
    pub flag_file: Option<PathBuf>,
    /// How often a throttled run looks again.
    pub interval: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            max_replica_lag: Some(Duration::from_secs(1)),
            query: None,
            flag_file: None,
            interval: Duration::from_millis(250),
        }
    }
}

/// Why the work waits: a short key (for the statistics) and the words for people.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    pub key: &'static str,
    pub detail: String,
}

pub struct Throttler {
    cfg: ThrottleConfig,
    /// (when, the primary's WAL position in bytes) at each check, oldest first.
    samples: VecDeque<(Instant, i64)>,
    /// Standbys streaming at the first check.
    standbys: Option<BTreeSet<String>>,
    warned_unreadable: bool,
    /// Held back by replica lag at the last check.
    lagging: bool,
    /// Nothing said wait at the last check, which stands until then: the checks are queries,
    /// and batches of a few milliseconds would otherwise spend more round trips on them than
    /// on the work.
    clear_until: Option<Instant>,
}

/// How long a clear check stands (gh-ost looks every 100 ms to 1 s).
const CLEAR_FOR: Duration = Duration::from_millis(100);

const MAX_SAMPLES: usize = 4096;

impl Throttler {
    pub fn new(cfg: ThrottleConfig) -> Self {
        Throttler {
            cfg,
            samples: VecDeque::new(),
            standbys: None,
            warned_unreadable: false,
            lagging: false,
            clear_until: None,
        }
    }

    pub fn interval(&self) -> Duration {
        self.cfg.interval
    }

    /// The first reason to wait now, if any.
    pub async fn cause(&mut self, c: &Client, ledger: &Ledger) -> Result<Option<Cause>> {
        if self.clear_until.is_some_and(|t| Instant::now() < t) {
            return Ok(None);
        }
        let cause = self.check(c, ledger).await?;
        self.clear_until = cause.is_none().then(|| Instant::now() + CLEAR_FOR);
        Ok(cause)
    }

    async fn check(&mut self, c: &Client, ledger: &Ledger) -> Result<Option<Cause>> {
        if let Some((true, reason)) = ledger.throttle(c).await? {
            return Ok(Some(Cause {
                key: "manual",
                detail: format!(
                    "zdm throttle on{}",
                    reason.map(|r| format!(" ({r})")).unwrap_or_default()
                ),
            }));
        }
        if let Some(f) = self.cfg.flag_file.as_ref().filter(|f| f.exists()) {
            return Ok(Some(Cause {
                key: "flag_file",
                detail: format!("flag file {} exists", f.display()),
            }));
        }
        if let Some(q) = &self.cfg.query {
            match c.query_opt(q.as_str(), &[]).await {
                Ok(row) => {
                    let yes = row.and_then(|r| r.try_get::<_, Option<bool>>(0).ok().flatten());
                    if yes == Some(true) {
                        return Ok(Some(Cause {
                            key: "query",
                            detail: "the throttle query returned true".into(),
                        }));
                    }
                }
                Err(e) => {
                    return Ok(Some(Cause {
                        key: "query",
                        detail: format!(
                            "the throttle query failed: {}",
                            crate::error::describe_pg_error(&e)
                        ),
                    }))
                }
            }
        }
        if let Some(max) = self.cfg.max_replica_lag {
            return self.replica_lag(c, max).await;
        }
        Ok(None)
    }

    async fn replica_lag(&mut self, c: &Client, max: Duration) -> Result<Option<Cause>> {
        // Physical standbys only: a logical walsender (a CDC consumer) confirms on its own
        // schedule and is no replica. Without pg_read_all_stats `state` reads NULL.
        let rows = c
            .query(
                "SELECT coalesce(nullif(r.application_name, ''), coalesce(r.client_addr::text, 'local')), \
                        pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint, \
                        pg_wal_lsn_diff(r.replay_lsn, '0/0')::bigint, \
                        extract(epoch FROM r.replay_lag)::float8, \
                        r.state \
                   FROM pg_stat_replication r \
                  WHERE (r.state = 'streaming' OR r.state IS NULL) \
                    AND NOT EXISTS (SELECT FROM pg_replication_slots s WHERE s.active_pid = r.pid AND s.slot_type = 'logical')",
                &[],
            )
            .await?;
        if rows.iter().any(|r| r.get::<_, Option<String>>(4).is_none()) && !self.warned_unreadable {
            self.warned_unreadable = true;
            tracing::warn!("cannot read the standbys' replication state (grant pg_monitor to zdm's role); replica lag is not watched");
        }
        let rows: Vec<_> = rows
            .into_iter()
            .filter(|r| r.get::<_, Option<String>>(4).is_some())
            .collect();
        let now = Instant::now();
        let current: Option<i64> = match rows.first() {
            Some(r) => r.get(1),
            None => c
                .query_one(
                    "SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint END",
                    &[],
                )
                .await?
                .get(0),
        };
        if let Some(lsn) = current {
            self.samples.push_back((now, lsn));
            if self.samples.len() > MAX_SAMPLES {
                self.samples.pop_front();
            }
        }
        let streaming: BTreeSet<String> = rows.iter().map(|r| r.get(0)).collect();
        let seen = self.standbys.get_or_insert_with(|| streaming.clone());
        if let Some(gone) = seen.iter().find(|s| !streaming.contains(*s)) {
            return Ok(Some(Cause {
                key: "replica_missing",
                detail: format!("standby {gone} is no longer streaming"),
            }));
        }
        let mut worst: Option<(String, f64)> = None;
        for r in &rows {
            let name: String = r.get(0);
            let Some(replayed) = r.get::<_, Option<i64>>(2) else {
                if !self.warned_unreadable {
                    self.warned_unreadable = true;
                    tracing::warn!(
                        standby = %name,
                        "cannot read the standby's replay position (grant pg_monitor to zdm's role); its lag is not watched"
                    );
                }
                continue;
            };
            let reported = r.get::<_, Option<f64>>(3).unwrap_or(0.0);
            // The oldest WAL position still unreplayed was written before the first sample
            // that had gone past it.
            let unreplayed_since = self
                .samples
                .iter()
                .find(|(_, lsn)| *lsn > replayed)
                .map(|(t, _)| now.duration_since(*t).as_secs_f64())
                .unwrap_or(0.0);
            let lag = reported.max(unreplayed_since);
            if worst.as_ref().is_none_or(|(_, w)| lag > *w) {
                worst = Some((name, lag));
            }
        }
        // Hysteresis: once held, go on only below 80 % of the limit, so a lag hovering at the
        // limit does not start and end an episode at every batch.
        let limit = if self.lagging {
            max.as_secs_f64() * 0.8
        } else {
            max.as_secs_f64()
        };
        self.lagging = worst.as_ref().is_some_and(|(_, lag)| *lag > limit);
        Ok(worst
            .filter(|(_, lag)| *lag > limit)
            .map(|(name, lag)| Cause {
                key: "replica_lag",
                detail: format!(
                    "standby {name} is {lag:.1}s behind (limit {:.1}s)",
                    max.as_secs_f64()
                ),
            }))
    }
}
