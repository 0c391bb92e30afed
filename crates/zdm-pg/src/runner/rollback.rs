//! `zdm rollback` of a plain SQL migration: run its `.down.sql` and mark it rolled back. Only the
//! most recently applied migration can be rolled back, so the ledger never has holes.

use super::sql_apply::{run_script, Script};
use super::Session;
use crate::error::{Error, Result};
use zdm_core::source::{MigrationBody, MigrationFile};
use zdm_core::state::{MigrationState, Phase};

/// Roll back `id`, or the last applied migration when None. Returns the id rolled back.
pub async fn rollback_sql(
    session: &mut Session,
    files: &[MigrationFile],
    id: Option<&str>,
) -> Result<String> {
    session.lock_for_writing().await?;
    let records = session.ledger.records(&session.client).await?;
    let live: Vec<_> = records
        .iter()
        .filter(|r| r.state != MigrationState::RolledBack)
        .collect();
    let last = live
        .last()
        .ok_or_else(|| Error::Refused("nothing to roll back: no migration is applied".into()))?;
    let id = id.unwrap_or(&last.id);
    let record = records
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| Error::Refused(format!("migration {id} has not been applied")))?;
    if record.id != last.id {
        return Err(Error::Refused(format!(
            "migration {id} is not the last applied one ({} is); roll back the later ones first",
            last.id
        )));
    }
    let resume = record.state == MigrationState::Failed
        && record.failed_phase.as_deref() == Some(Phase::Rollback.as_str());
    if record.state != MigrationState::Completed
        && !resume
        && record.state != MigrationState::RollingBack
    {
        return Err(Error::Refused(format!(
            "migration {id} is {}; only a completed SQL migration can be rolled back",
            record.state
        )));
    }
    let file = files.iter().find(|f| f.id == id).ok_or_else(|| {
        Error::Refused(format!(
            "migration {id} has no file in the migrations directory"
        ))
    })?;
    let MigrationBody::Sql(sql) = &file.body else {
        return Err(Error::Refused(format!(
            "{id} is an operations migration; it is rolled back before `zdm complete`"
        )));
    };
    if file.checksum != record.checksum {
        return Err(Error::Drift(format!(
            "{id}: file edited after it was applied; run `zdm repair` or restore it"
        )));
    }
    let down = sql
        .down
        .as_ref()
        .ok_or_else(|| Error::Refused(format!("{id} has no rollback file {id}.down.sql")))?;
    if record.state != MigrationState::RollingBack {
        session
            .ledger
            .transition(
                &session.client,
                id,
                MigrationState::RollingBack,
                Phase::Rollback,
                "rolling back",
            )
            .await?;
    }
    let no_transaction = sql.no_transaction
        || down
            .statements
            .iter()
            .any(|s| s.must_run_outside_transaction());
    let script = Script {
        path: &down.path,
        text: &down.text,
        statements: &down.statements,
        no_transaction,
    };
    run_script(
        session,
        id,
        Phase::Rollback,
        &script,
        MigrationState::RolledBack,
        "rolled back",
    )
    .await?;
    Ok(id.to_string())
}
