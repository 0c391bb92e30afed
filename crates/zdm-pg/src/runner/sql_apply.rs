//! Running the statements of a plain SQL migration (or its `.down.sql`).
//!
//! * Transactional (the default): all statements and the ledger's final transition in ONE
//!   transaction, so the migration and its `completed` record commit together or not at all. A
//!   lock timeout rolls the whole attempt back and retries it.
//! * `-- zdm:no-transaction` (or a statement such as `CREATE INDEX CONCURRENTLY`): statement by
//!   statement, each committed with its progress checkpoint where PostgreSQL allows, so a failed or
//!   killed run resumes at the statement that did not finish.

use crate::error::{describe_pg_error, Error, Result};
use crate::executor::{in_transaction, with_lock_retry, RetryError, RetryLog, StepError};
use crate::ledger::{EventLevel, NewEvent};
use crate::runner::Session;
use sha2::{Digest, Sha256};
use std::path::Path;
use zdm_core::sql::{line_col, Statement};
use zdm_core::state::{MigrationState, Phase};

/// The statements to run and where they came from, for error messages.
pub struct Script<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub statements: &'a [Statement],
    pub no_transaction: bool,
}

impl Script<'_> {
    /// "file:line:col" of the failing statement, or of the error position inside it.
    fn locate(&self, index: usize, error: &tokio_postgres::Error) -> String {
        let st = &self.statements[index];
        let offset = error
            .as_db_error()
            .and_then(|d| match d.position() {
                Some(tokio_postgres::error::ErrorPosition::Original(p)) => Some(*p as usize),
                _ => None,
            })
            .and_then(|p| {
                st.text
                    .char_indices()
                    .nth(p.saturating_sub(1))
                    .map(|(b, _)| st.offset + b)
            })
            .unwrap_or(st.offset);
        let (line, col) = line_col(self.text, offset);
        format!("{}:{line}:{col}", self.path.display())
    }

    fn failure_message(&self, e: &StepError) -> String {
        match e {
            StepError::Statement { index, error } => format!(
                "{}: statement {} of {}: {}",
                self.locate(*index, error),
                index + 1,
                self.statements.len(),
                describe_pg_error(error)
            ),
            StepError::Other(e) => e.to_string(),
        }
    }
}

/// Digest of the first `n` statements: on resume it proves the part already applied is unchanged.
fn prefix_digest(statements: &[Statement], n: usize) -> String {
    let mut h = Sha256::new();
    for s in &statements[..n.min(statements.len())] {
        h.update(s.text.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

/// Run `script` for migration `id` in `phase`, ending in ledger state `done` (completed or
/// rolled_back). The caller has already moved the migration to running / rolling_back.
pub async fn run_script(
    session: &Session,
    id: &str,
    phase: Phase,
    script: &Script<'_>,
    done: MigrationState,
    done_message: &str,
) -> Result<()> {
    let result = if script.no_transaction {
        run_statement_by_statement(session, id, phase, script, done, done_message).await
    } else {
        run_in_one_transaction(session, id, phase, script, done, done_message).await
    };
    match result {
        Ok(()) => Ok(()),
        Err(RetryError::Failed(e)) => {
            let message = script.failure_message(&e);
            session
                .ledger
                .fail(&session.client, id, phase, &message, true)
                .await?;
            Err(Error::MigrationFailed {
                id: id.to_string(),
                phase,
                message,
            })
        }
        Err(RetryError::Exhausted {
            attempts,
            elapsed,
            last,
        }) => {
            let message = format!(
                "gave up waiting for locks after {attempts} attempts in {:.1}s (lock_timeout {} ms): {}",
                elapsed.as_secs_f64(),
                session.policy.lock_timeout.as_millis(),
                script.failure_message(&last)
            );
            session
                .ledger
                .fail(&session.client, id, phase, &message, true)
                .await?;
            Err(Error::MigrationFailed {
                id: id.to_string(),
                phase,
                message,
            })
        }
        Err(RetryError::Ledger(e)) => Err(e),
    }
}

async fn run_in_one_transaction(
    session: &Session,
    id: &str,
    phase: Phase,
    script: &Script<'_>,
    done: MigrationState,
    done_message: &str,
) -> std::result::Result<(), RetryError<StepError>> {
    let c = &session.client;
    let log = RetryLog {
        ledger: &session.ledger,
        client: c,
        migration_id: id,
        phase,
    };
    with_lock_retry(&session.policy, &log, "transaction", || async {
        in_transaction(c, async {
            for (index, st) in script.statements.iter().enumerate() {
                c.batch_execute(&st.text)
                    .await
                    .map_err(|error| StepError::Statement { index, error })?;
            }
            session
                .ledger
                .transition(c, id, done, phase, done_message)
                .await?;
            crate::failpoint::hit("sql.transaction_uncommitted");
            Ok::<(), StepError>(())
        })
        .await
    })
    .await
}

async fn run_statement_by_statement(
    session: &Session,
    id: &str,
    phase: Phase,
    script: &Script<'_>,
    done: MigrationState,
    done_message: &str,
) -> std::result::Result<(), RetryError<StepError>> {
    let c = &session.client;
    let ledger = &session.ledger;
    let key = format!("{}_statements_done", phase.as_str());
    let digest_key = format!("{}_done_digest", phase.as_str());
    let record = ledger.record(c, id).await.map_err(RetryError::Ledger)?;
    let progress = record.map(|r| r.progress).unwrap_or_default();
    let mut start = progress.get(&key).and_then(|v| v.as_u64()).unwrap_or(0) as usize;
    let building_key = format!("{}_building", phase.as_str());
    let interrupted_at = progress
        .get(&building_key)
        .and_then(|v| v.as_u64())
        .map(|n| n as usize)
        .filter(|n| *n == start + 1);
    if start > 0 {
        let recorded = progress
            .get(&digest_key)
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        if start > script.statements.len() || recorded != prefix_digest(script.statements, start) {
            return Err(RetryError::Failed(StepError::Other(Error::Refused(format!(
                "{} statements of this migration were already applied and the file has changed in that part \
                 since; restore those statements so the run can resume after them",
                start
            )))));
        }
        let event = NewEvent::new(
            id,
            phase,
            EventLevel::Info,
            format!(
                "resuming at statement {} of {}",
                start + 1,
                script.statements.len()
            ),
        );
        ledger.event(c, event).await.map_err(RetryError::Ledger)?;
    }
    let log = RetryLog {
        ledger,
        client: c,
        migration_id: id,
        phase,
    };
    while start < script.statements.len() {
        let index = start;
        let st = &script.statements[index];
        let checkpoint = serde_json::json!({ &key: index + 1, &digest_key: prefix_digest(script.statements, index + 1) });
        let what = format!("statement {}", index + 1);
        with_lock_retry(&session.policy, &log, &what, || async {
            if st.must_run_outside_transaction() {
                // Recorded before the statement runs: a run killed after it but before its
                // checkpoint finds the index built when it resumes.
                // (Only when no index of that name exists yet: a name taken before is the
                // user's conflict, to fail on again, not this statement's own work.)
                let free = match crate::concurrent_index::target(&st.text) {
                    Some(t) => !crate::concurrent_index::exists(c, &t)
                        .await
                        .map_err(|error| StepError::Statement { index, error })?,
                    None => true,
                };
                if free {
                    let building = serde_json::json!({ &building_key: index + 1 });
                    ledger.save_progress(c, id, &building).await?;
                }
                let built = if interrupted_at == Some(index + 1) {
                    crate::concurrent_index::run_again(c, &st.text).await
                } else {
                    crate::concurrent_index::run(c, &st.text).await
                };
                built.map_err(|e| StepError::of_build(index, e))?;
                crate::failpoint::hit("sql.statement_uncommitted");
                ledger.save_progress(c, id, &checkpoint).await?;
                return Ok(());
            }
            in_transaction(c, async {
                c.batch_execute(&st.text)
                    .await
                    .map_err(|error| StepError::Statement { index, error })?;
                crate::failpoint::hit("sql.statement_uncommitted");
                ledger.save_progress(c, id, &checkpoint).await?;
                Ok::<(), StepError>(())
            })
            .await
        })
        .await?;
        crate::failpoint::hit("sql.statement_done");
        start += 1;
    }
    let reset = serde_json::json!({ &key: 0, &digest_key: null, &building_key: null });
    ledger
        .save_progress(c, id, &reset)
        .await
        .map_err(RetryError::Ledger)?;
    ledger
        .transition(c, id, done, phase, done_message)
        .await
        .map_err(RetryError::Ledger)
}
