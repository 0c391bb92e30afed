//! `zdm migrate`: apply the pending migrations of the directory in order, resuming any that failed
//! or were interrupted, and stop at the first failure.

use super::drift;
use super::operations::{self, EngineOptions};
use super::sql_apply::{run_script, Script};
use super::Session;
use crate::backfill::BackfillObserver;
use crate::error::{Error, Result};
use crate::ledger::transitions::RunStart;
use crate::ledger::{EventLevel, MigrationRecord, NewEvent};
use serde::Serialize;
use std::collections::HashMap;
use zdm_core::source::{MigrationBody, MigrationFile, MigrationKind};
use zdm_core::state::{MigrationState, Phase};

#[derive(Debug, Default, Serialize)]
pub struct MigrateReport {
    pub applied: Vec<String>,
    /// Of `applied`, the ones that resumed a failed or interrupted run.
    pub resumed: Vec<String>,
    pub already_applied: usize,
}

/// What `migrate` does with a migration, given its ledger row.
enum Action {
    Skip,
    Apply,
    Resume(MigrationState),
}

fn action(record: Option<&MigrationRecord>) -> Result<Action> {
    match record.map(|r| r.state) {
        None | Some(MigrationState::RolledBack) => Ok(Action::Apply),
        Some(MigrationState::Completed) => Ok(Action::Skip),
        // We hold the runner lock, so a `running` row is a run that died (kill -9, lost connection).
        Some(s @ (MigrationState::Failed | MigrationState::Running)) => Ok(Action::Resume(s)),
        Some(s) => Err(Error::Refused(format!(
            "migration {} is {s}; finish it with `zdm complete` or `zdm rollback` first",
            record.map(|r| r.id.as_str()).unwrap_or_default()
        ))),
    }
}

/// How `migrate` treats operation files.
pub struct MigrateOptions<'a> {
    pub engine: EngineOptions,
    /// Complete the last operations migration too (otherwise it stays expanded).
    pub complete_last: bool,
    pub observer: &'a dyn BackfillObserver,
}

/// Apply pending migrations up to and including `target` (all when None).
pub async fn migrate(
    session: &mut Session,
    files: &[MigrationFile],
    target: Option<&str>,
    opts: &MigrateOptions<'_>,
) -> Result<MigrateReport> {
    session.lock_for_writing().await?;
    if let Some(t) = target {
        if !files.iter().any(|f| f.id == t) {
            return Err(Error::Refused(format!(
                "no migration `{t}` in the migrations directory"
            )));
        }
    }
    let records = session.ledger.records(&session.client).await?;
    drift::check(files, &records).into_result()?;
    let by_id: HashMap<String, MigrationRecord> =
        records.into_iter().map(|r| (r.id.clone(), r)).collect();

    let mut report = MigrateReport::default();
    let mut parent: Option<&str> = None;
    let end = target
        .and_then(|t| files.iter().position(|f| f.id == t))
        .map(|i| i + 1)
        .unwrap_or(files.len());
    let last_ops = files[..end]
        .iter()
        .rposition(|f| f.kind() == MigrationKind::Operations);
    for (index, file) in files[..end].iter().enumerate() {
        if let MigrationBody::Operations(_) = file.body {
            let complete = opts.complete_last || Some(index) != last_ops;
            if apply_operations(session, file, parent, by_id.get(&file.id), complete, opts).await? {
                report.applied.push(file.id.clone());
            } else {
                report.already_applied += 1;
            }
            parent = Some(&file.id);
            continue;
        }
        if let Some(other) = operations::in_flight(&session.ledger.records(&session.client).await?)
        {
            return Err(Error::Refused(format!(
                "operations migration {} is {}; complete or roll it back before applying {}",
                other.id, other.state, file.id
            )));
        }
        let act = action(by_id.get(&file.id))?;
        if !matches!(act, Action::Skip) {
            apply_one(session, file, parent, &act).await?;
            report.applied.push(file.id.clone());
            if matches!(act, Action::Resume(_)) {
                report.resumed.push(file.id.clone());
            }
        } else {
            report.already_applied += 1;
        }
        parent = Some(&file.id);
    }
    Ok(report)
}

/// Start and (unless it is to stay expanded) complete an operations migration. Returns whether
/// anything was done.
async fn apply_operations(
    session: &mut Session,
    file: &MigrationFile,
    parent: Option<&str>,
    record: Option<&MigrationRecord>,
    complete: bool,
    opts: &MigrateOptions<'_>,
) -> Result<bool> {
    let state = record.map(|r| r.state);
    let failed_in_complete = record.is_some_and(|r| r.failed_phase.as_deref() == Some("complete"));
    let needs_start = match state {
        None | Some(MigrationState::RolledBack | MigrationState::Running) => true,
        Some(MigrationState::Failed) => !failed_in_complete,
        Some(MigrationState::Completed) => return Ok(false),
        Some(MigrationState::Expanded | MigrationState::Completing) => false,
        Some(MigrationState::RollingBack) => {
            return Err(Error::Refused(format!(
                "migration {} is rolling back; finish with `zdm rollback`",
                file.id
            )))
        }
        Some(MigrationState::Pending) => true,
    };
    let mut did = false;
    if needs_start {
        operations::start(session, file, parent, &opts.engine, opts.observer).await?;
        did = true;
    }
    if complete {
        operations::complete(session, Some(&file.id)).await?;
        did = true;
    }
    Ok(did)
}

async fn apply_one(
    session: &Session,
    file: &MigrationFile,
    parent: Option<&str>,
    act: &Action,
) -> Result<()> {
    let MigrationBody::Sql(sql) = &file.body else {
        return Err(Error::Refused(format!(
            "{} is an operations migration",
            file.id
        )));
    };
    if let Action::Resume(MigrationState::Running) = act {
        let event = NewEvent::new(
            &file.id,
            Phase::Apply,
            EventLevel::Warn,
            "found an interrupted run (its runner died); resuming",
        );
        session.ledger.event(&session.client, event).await?;
    }
    let run = RunStart {
        id: &file.id,
        checksum: &file.checksum,
        kind: file.kind().as_str(),
        migration: file.to_json(),
        parent,
        version_schema: None,
        plan: None,
    };
    session
        .ledger
        .begin_run(&session.client, &run, Phase::Apply)
        .await?;
    let script = Script {
        path: &file.path,
        text: &sql.up,
        statements: &sql.statements,
        no_transaction: sql.no_transaction,
    };
    run_script(
        session,
        &file.id,
        Phase::Apply,
        &script,
        MigrationState::Completed,
        "applied",
    )
    .await
}
