//! `zdm migrate`: apply the pending migrations of the directory in order, resuming any that failed
//! or were interrupted, and stop at the first failure.

use super::drift;
use super::sql_apply::{run_script, Script};
use super::Session;
use crate::error::{Error, Result};
use crate::ledger::transitions::RunStart;
use crate::ledger::{EventLevel, MigrationRecord, NewEvent};
use serde::Serialize;
use std::collections::HashMap;
use zdm_core::source::{MigrationBody, MigrationFile};
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

/// Apply pending migrations up to and including `target` (all when None).
pub async fn migrate(
    session: &mut Session,
    files: &[MigrationFile],
    target: Option<&str>,
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
    for file in files {
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
        if target == Some(file.id.as_str()) {
            break;
        }
    }
    Ok(report)
}

async fn apply_one(
    session: &Session,
    file: &MigrationFile,
    parent: Option<&str>,
    act: &Action,
) -> Result<()> {
    let MigrationBody::Sql(sql) = &file.body else {
        return Err(Error::Refused(format!(
            "{} is an operations migration: run it with `zdm start` (the expand/contract engine)",
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
