//! Lock-safe execution. Every DDL zdm runs has `lock_timeout` set (default 50 ms), so zdm never
//! waits in a lock queue (blocking the application's queries queued behind it) for longer than
//! that. A lock timeout (SQLSTATE 55P03) is not a failure but a cue to back off and try again:
//! exponential backoff with jitter, bounded in attempts and total time, each retry an event.

use crate::error::{describe_pg_error, Error, Result};
use crate::ledger::{EventLevel, Ledger, NewEvent};
use rand::Rng;
use std::future::Future;
use std::time::{Duration, Instant};
use tokio_postgres::Client;
use zdm_core::state::Phase;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockPolicy {
    /// How long one attempt may wait for a lock.
    pub lock_timeout: Duration,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// No new attempt starts after this much time since the first.
    pub max_total: Duration,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for LockPolicy {
    fn default() -> Self {
        LockPolicy {
            lock_timeout: Duration::from_millis(50),
            max_attempts: 30,
            max_total: Duration::from_secs(300),
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl LockPolicy {
    /// Delay before attempt `attempt + 1` (attempt counts from 1): exponential, capped, with
    /// "equal jitter" (half fixed, half random) so concurrent retriers spread out but still back off.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        let half = capped / 2;
        half + rand::thread_rng().gen_range(Duration::ZERO..=half)
    }

    /// `SET lock_timeout` for a session: applies to every statement it runs afterwards.
    pub async fn apply_to_session(&self, c: &Client) -> Result<()> {
        c.batch_execute(&format!(
            "SET lock_timeout = '{}ms'",
            self.lock_timeout.as_millis()
        ))
        .await?;
        Ok(())
    }
}

/// An error an attempt can fail with; lock timeouts are retried, anything else is not.
pub trait AttemptError {
    fn is_lock_timeout(&self) -> bool;
    fn describe(&self) -> String;
}

impl AttemptError for tokio_postgres::Error {
    fn is_lock_timeout(&self) -> bool {
        self.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE)
    }
    fn describe(&self) -> String {
        describe_pg_error(self)
    }
}

#[derive(Debug)]
pub enum RetryError<E> {
    /// A non-retryable error.
    Failed(E),
    /// Still timing out on locks when the attempts or the time ran out.
    Exhausted {
        attempts: u32,
        elapsed: Duration,
        last: E,
    },
    /// Writing the retry event to the ledger failed.
    Ledger(crate::error::Error),
}

/// Where retries are logged.
pub struct RetryLog<'a> {
    pub ledger: &'a Ledger,
    pub client: &'a Client,
    pub migration_id: &'a str,
    pub phase: Phase,
}

/// Run `attempt` until it succeeds, fails with something other than a lock timeout, or the policy
/// gives up. Each attempt must leave the session outside any transaction when it fails (roll back
/// what it began), so the retry event is written on its own.
pub async fn with_lock_retry<T, E, F, Fut>(
    policy: &LockPolicy,
    log: &RetryLog<'_>,
    what: &str,
    mut attempt: F,
) -> std::result::Result<T, RetryError<E>>
where
    E: AttemptError,
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, E>>,
{
    let started = Instant::now();
    let mut n = 0u32;
    loop {
        n += 1;
        let err = match attempt().await {
            Ok(v) => return Ok(v),
            Err(e) if !e.is_lock_timeout() => return Err(RetryError::Failed(e)),
            Err(e) => e,
        };
        let delay = policy.delay(n);
        let elapsed = started.elapsed();
        if n >= policy.max_attempts || elapsed + delay > policy.max_total {
            return Err(RetryError::Exhausted {
                attempts: n,
                elapsed,
                last: err,
            });
        }
        let event = NewEvent::new(
            log.migration_id,
            log.phase,
            EventLevel::Warn,
            format!(
                "{what}: lock not available within {} ms; retry {n} in {} ms",
                policy.lock_timeout.as_millis(),
                delay.as_millis()
            ),
        )
        .details(serde_json::json!({
            "attempt": n,
            "delay_ms": delay.as_millis() as u64,
            "lock_timeout_ms": policy.lock_timeout.as_millis() as u64,
            "error": err.describe(),
        }));
        log.ledger
            .lock_retry(log.client, event)
            .await
            .map_err(RetryError::Ledger)?;
        tokio::time::sleep(delay).await;
    }
}

/// What one attempt failed on.
/// What an attempt of a group of statements failed on: which statement, or something else
/// (a ledger write).
#[derive(Debug)]
pub(crate) enum StepError {
    Statement {
        index: usize,
        error: tokio_postgres::Error,
    },
    Other(Error),
}

impl AttemptError for StepError {
    fn is_lock_timeout(&self) -> bool {
        matches!(self, StepError::Statement { error, .. } if error.is_lock_timeout())
    }
    fn describe(&self) -> String {
        match self {
            StepError::Statement { index, error } => {
                format!("statement {}: {}", index + 1, describe_pg_error(error))
            }
            StepError::Other(e) => e.to_string(),
        }
    }
}

impl StepError {
    /// The error of statement `index` run through [`crate::concurrent_index::run`].
    pub(crate) fn of_build(index: usize, e: crate::concurrent_index::BuildError) -> Self {
        match e {
            crate::concurrent_index::BuildError::Statement(error) => {
                StepError::Statement { index, error }
            }
            crate::concurrent_index::BuildError::StillInvalid(m) => {
                StepError::Other(Error::Ledger(m))
            }
        }
    }
}

impl From<tokio_postgres::Error> for StepError {
    fn from(e: tokio_postgres::Error) -> Self {
        StepError::Other(e.into())
    }
}

impl From<Error> for StepError {
    fn from(e: Error) -> Self {
        StepError::Other(e)
    }
}

/// Run `body` inside `BEGIN … COMMIT` on `c`, rolling back when it fails, so the session is
/// outside any transaction afterwards either way (what a retry or a ledger write needs).
pub async fn in_transaction<T, E, F>(c: &Client, body: F) -> std::result::Result<T, E>
where
    E: From<tokio_postgres::Error>,
    F: Future<Output = std::result::Result<T, E>>,
{
    in_transaction_from(c, "BEGIN", body).await
}

/// [`in_transaction`] begun by `begin`: `BEGIN` and settings for the transaction (`SET LOCAL`),
/// sent in one round trip.
pub async fn in_transaction_from<T, E, F>(
    c: &Client,
    begin: &str,
    body: F,
) -> std::result::Result<T, E>
where
    E: From<tokio_postgres::Error>,
    F: Future<Output = std::result::Result<T, E>>,
{
    if let Err(e) = c.batch_execute(begin).await {
        // A setting that failed after BEGIN leaves the transaction open (and aborted).
        let _ = c.batch_execute("ROLLBACK").await;
        return Err(e.into());
    }
    match body.await {
        Ok(v) => {
            c.batch_execute("COMMIT").await?;
            Ok(v)
        }
        Err(e) => {
            let _ = c.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = LockPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..Default::default()
        };
        for attempt in 1..20 {
            let d = p.delay(attempt);
            let nominal = Duration::from_millis(100 * (1u64 << (attempt - 1).min(16)))
                .min(Duration::from_secs(1));
            assert!(
                d >= nominal / 2 && d <= nominal,
                "attempt {attempt}: {d:?} vs {nominal:?}"
            );
        }
    }
}
