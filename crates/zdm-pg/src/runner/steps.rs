//! Running a phase of a plan: its steps grouped by stage into transactions, each group committed
//! with a checkpoint in the ledger, so a failed or killed phase resumes at the first group that
//! did not commit. Lock timeouts retry the group with backoff.

use super::Session;
use crate::error::{describe_pg_error, Error, Result};
use crate::executor::{in_transaction, with_lock_retry, RetryError, RetryLog, StepError};
use crate::failpoint;
use zdm_core::planner::{Mode, Step};
use zdm_core::state::Phase;

/// Consecutive transactional steps of one stage form one group; other steps run alone.
pub fn groups(steps: &[Step]) -> Vec<Vec<&Step>> {
    let mut out: Vec<Vec<&Step>> = Vec::new();
    for s in steps {
        match out.last_mut() {
            Some(g)
                if s.mode == Mode::Transaction
                    && g[0].mode == Mode::Transaction
                    && g[0].stage == s.stage =>
            {
                g.push(s)
            }
            _ => out.push(vec![s]),
        }
    }
    out
}

fn progress_key(phase: Phase) -> String {
    format!("{}_groups_done", phase.as_str())
}

/// Run `steps` of migration `id` for `phase`, skipping groups already checkpointed.
pub async fn run_steps(session: &Session, id: &str, phase: Phase, steps: &[Step]) -> Result<()> {
    let c = &session.client;
    let ledger = &session.ledger;
    let key = progress_key(phase);
    let progress = ledger
        .record(c, id)
        .await?
        .map(|r| r.progress)
        .unwrap_or_default();
    let done = progress.get(&key).and_then(|v| v.as_u64()).unwrap_or(0) as usize;
    let log = RetryLog {
        ledger,
        client: c,
        migration_id: id,
        phase,
    };
    // Kill points: inside a group's transaction with its statements run, and after its commit.
    let uncommitted = format!("{phase}.group_uncommitted");
    let committed = format!("{phase}.group_done");
    for (index, group) in groups(steps).into_iter().enumerate().skip(done) {
        let checkpoint = serde_json::json!({ &key: index + 1 });
        let in_tx = group[0].mode != Mode::NoTransaction;
        let what = format!("{phase} step group {}", index + 1);
        let result = with_lock_retry(&session.policy, &log, &what, || async {
            if !in_tx {
                // An index built concurrently ends valid, or the attempt fails (and the next
                // attempt drops what it left).
                crate::concurrent_index::run(c, &group[0].sql)
                    .await
                    .map_err(|e| StepError::of_build(0, e))?;
                failpoint::hit(&uncommitted);
                ledger.save_progress(c, id, &checkpoint).await?;
                return Ok(());
            }
            in_transaction(c, async {
                for (i, s) in group.iter().enumerate() {
                    c.batch_execute(&s.sql)
                        .await
                        .map_err(|error| StepError::Statement { index: i, error })?;
                }
                failpoint::hit(&uncommitted);
                ledger.save_progress(c, id, &checkpoint).await?;
                Ok::<(), StepError>(())
            })
            .await
        })
        .await;
        if result.is_ok() {
            failpoint::hit(&committed);
        }
        let failure = match result {
            Ok(()) => continue,
            Err(RetryError::Failed(e)) => describe_step(&group, &e),
            Err(RetryError::Exhausted {
                attempts,
                elapsed,
                last,
            }) => format!(
                "gave up waiting for locks after {attempts} attempts in {:.1}s: {}",
                elapsed.as_secs_f64(),
                describe_step(&group, &last)
            ),
            Err(RetryError::Ledger(e)) => return Err(e),
        };
        ledger.fail(c, id, phase, &failure, true).await?;
        return Err(Error::MigrationFailed {
            id: id.to_string(),
            phase,
            message: failure,
        });
    }
    Ok(())
}

fn describe_step(group: &[&Step], e: &StepError) -> String {
    match e {
        StepError::Statement { index, error } => {
            let sql: String = group
                .get(*index)
                .map(|s| s.sql.chars().take(300).collect())
                .unwrap_or_default();
            format!("{} — while running: {sql}", describe_pg_error(error))
        }
        StepError::Other(e) => e.to_string(),
    }
}
