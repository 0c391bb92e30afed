//! The expand/contract engine's commands for operation files: `start` (expand, backfill, new
//! version schema → expanded), `complete` (contract → completed) and `rollback` (undo the expand →
//! rolled_back). Only one operations migration is in flight at a time. Each phase runs the plan
//! stored in the ledger at start, in checkpointed step groups, so any failure or kill resumes.

use super::steps::run_steps;
use super::Session;
use crate::backfill::{self, BackfillConfig, BackfillObserver};
use crate::catalog;
use crate::error::{Error, Result};
use crate::executor::{in_transaction, with_lock_retry, RetryError, RetryLog, StepError};
use crate::ledger::transitions::RunStart;
use crate::ledger::{EventLevel, MigrationRecord, NewEvent};
use zdm_core::ident::{quote_ident, quote_qualified};
use zdm_core::planner::{self, views, Plan, Stage, Target};
use zdm_core::source::{MigrationBody, MigrationFile};
use zdm_core::state::{MigrationState, Phase};

/// Settings of the engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Schema of the application's tables.
    pub target_schema: String,
    pub backfill: BackfillConfig,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            target_schema: "public".into(),
            backfill: BackfillConfig::default(),
        }
    }
}

/// Name of a migration's version schema: `<target schema>_<version_schema or id>`, ≤ 63 bytes.
pub fn version_schema_name(target_schema: &str, file: &MigrationFile) -> String {
    let name = match &file.body {
        MigrationBody::Operations(ops) => ops
            .version_schema
            .clone()
            .unwrap_or_else(|| file.id.clone()),
        MigrationBody::Sql(_) => file.id.clone(),
    };
    let mut s = format!("{target_schema}_{name}");
    while s.len() > 63 {
        s.pop();
    }
    s
}

/// The operations migration currently in flight (anything started and neither completed nor
/// rolled back).
pub fn in_flight(records: &[MigrationRecord]) -> Option<&MigrationRecord> {
    records.iter().rev().find(|r| {
        r.kind == "operations"
            && !matches!(
                r.state,
                MigrationState::Completed | MigrationState::RolledBack
            )
    })
}

/// The version schema of the latest completed operations migration whose schema still exists.
async fn latest_version_schema(
    session: &Session,
    records: &[MigrationRecord],
) -> Result<Option<String>> {
    for r in records
        .iter()
        .rev()
        .filter(|r| r.state == MigrationState::Completed)
    {
        if let Some(vs) = &r.version_schema {
            let exists: bool = session
                .client
                .query_one(
                    "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)",
                    &[vs],
                )
                .await?
                .get(0);
            if exists {
                return Ok(Some(vs.clone()));
            }
        }
    }
    Ok(None)
}

async fn server_version(session: &Session) -> Result<i32> {
    let v: String = session
        .client
        .query_one("SHOW server_version_num", &[])
        .await?
        .get(0);
    v.parse()
        .map_err(|_| Error::Db(format!("unexpected server_version_num `{v}`")))
}

/// Plan `file` against the database as it is now, without changing anything.
pub async fn plan(session: &Session, file: &MigrationFile, opts: &EngineOptions) -> Result<Plan> {
    let MigrationBody::Operations(ops) = &file.body else {
        return Err(Error::Refused(format!(
            "{} is a SQL migration; `zdm migrate` applies it",
            file.id
        )));
    };
    let records = if session.ledger.version(&session.client).await?.is_some() {
        session.ledger.records(&session.client).await?
    } else {
        Vec::new()
    };
    let target = Target {
        schema: opts.target_schema.clone(),
        ledger_schema: session.ledger.schema().to_string(),
        migration_id: file.id.clone(),
        version_schema: version_schema_name(&opts.target_schema, file),
        previous_version_schema: latest_version_schema(session, &records).await?,
        server_version: server_version(session).await?,
    };
    let current = catalog::read_schema(&session.client, &opts.target_schema).await?;
    planner::plan_migration(ops, target, current)
        .map_err(|e| Error::Invalid(format!("{}: {e}", file.path.display())))
}

fn stored_plan(record: &MigrationRecord, plan: Option<serde_json::Value>) -> Result<Plan> {
    let value =
        plan.ok_or_else(|| Error::Ledger(format!("migration {} has no stored plan", record.id)))?;
    serde_json::from_value(value)
        .map_err(|e| Error::Ledger(format!("stored plan of {} is unreadable: {e}", record.id)))
}

async fn load_plan(session: &Session, record: &MigrationRecord) -> Result<Plan> {
    let row = session
        .client
        .query_one(
            &session
                .ledger
                .sql("SELECT plan FROM {s}.migrations WHERE id = $1"),
            &[&record.id],
        )
        .await?;
    stored_plan(record, row.get(0))
}

/// `zdm start`: expand, backfill and publish the new version schema. Resumes a start that failed
/// or was interrupted.
pub async fn start(
    session: &mut Session,
    file: &MigrationFile,
    parent: Option<&str>,
    opts: &EngineOptions,
    observer: &dyn BackfillObserver,
) -> Result<Plan> {
    session.lock_for_writing().await?;
    let records = session.ledger.records(&session.client).await?;
    if let Some(other) = in_flight(&records) {
        if other.id != file.id {
            return Err(Error::Refused(format!(
                "migration {} is {}; complete or roll it back before starting {}",
                other.id, other.state, file.id
            )));
        }
    }
    let record = records.iter().find(|r| r.id == file.id);
    let plan = match record.map(|r| (r, r.state)) {
        None | Some((_, MigrationState::RolledBack)) => {
            let plan = plan(session, file, opts).await?;
            let value = serde_json::to_value(&plan).map_err(|e| Error::Ledger(e.to_string()))?;
            let run = RunStart {
                id: &file.id,
                checksum: &file.checksum,
                kind: "operations",
                migration: file.to_json(),
                parent,
                version_schema: Some(&plan.target.version_schema),
                plan: Some(value),
            };
            session
                .ledger
                .begin_run(&session.client, &run, Phase::Start)
                .await?;
            crate::failpoint::hit("start.begun");
            plan
        }
        Some((r, MigrationState::Running)) | Some((r, MigrationState::Failed))
            if matches!(
                r.failed_phase.as_deref(),
                None | Some("start") | Some("backfill")
            ) =>
        {
            if r.checksum != file.checksum {
                return Err(Error::Drift(format!(
                    "{}: file edited after its start; roll it back (`zdm rollback`) and start again",
                    file.id
                )));
            }
            let plan = load_plan(session, r).await?;
            let note = if r.state == MigrationState::Running {
                "interrupted run"
            } else {
                "failed run"
            };
            session
                .ledger
                .event(
                    &session.client,
                    NewEvent::new(
                        &file.id,
                        Phase::Start,
                        EventLevel::Warn,
                        format!("resuming a {note}"),
                    ),
                )
                .await?;
            if r.state == MigrationState::Failed {
                let run = RunStart {
                    id: &file.id,
                    checksum: &file.checksum,
                    kind: "operations",
                    migration: file.to_json(),
                    parent: r.parent.as_deref(),
                    version_schema: r.version_schema.as_deref(),
                    plan: None,
                };
                session
                    .ledger
                    .begin_run(&session.client, &run, Phase::Start)
                    .await?;
            }
            plan
        }
        Some((r, state)) => {
            return Err(Error::Refused(format!(
                "migration {} is {state}; nothing to start",
                r.id
            )));
        }
    };

    let expand: Vec<_> = plan
        .start
        .iter()
        .filter(|s| s.stage < Stage::Views)
        .cloned()
        .collect();
    run_steps(session, &file.id, Phase::Start, &expand).await?;
    let progress = session
        .ledger
        .record(&session.client, &file.id)
        .await?
        .map(|r| r.progress)
        .unwrap_or_default();
    // The backfill skips rows written after this transaction id (the trigger computed them).
    // Fixed once, before the first batch, and kept for resumes.
    let xid = match progress.get("backfill_after_xid").and_then(|v| v.as_str()) {
        Some(x) => x.to_string(),
        None => {
            let x = backfill::skip_threshold(&session.client).await?;
            session
                .ledger
                .save_progress(
                    &session.client,
                    &file.id,
                    &serde_json::json!({ "backfill_after_xid": x }),
                )
                .await?;
            x
        }
    };
    for bf in &plan.backfills {
        let result = backfill::run(
            session,
            &file.id,
            &plan.target.schema,
            bf,
            &xid,
            &opts.backfill,
            observer,
        )
        .await;
        if let Err(e) = result {
            let message = format!("backfill of {}: {e}", bf.table);
            session
                .ledger
                .fail(&session.client, &file.id, Phase::Backfill, &message, true)
                .await?;
            return Err(Error::MigrationFailed {
                id: file.id.clone(),
                phase: Phase::Backfill,
                message,
            });
        }
    }
    crate::failpoint::hit("start.before_views");
    publish_version(session, &plan).await?;
    Ok(plan)
}

/// After a contract that ran SQL (`onComplete`), build the new version's views again from the
/// catalog: every name has settled, so the mapping is the identity. One transaction, so readers
/// of the version schema see the old views or the new ones.
async fn refresh_version(session: &Session, plan: &Plan) -> Result<()> {
    let c = &session.client;
    let mut settled = plan.clone();
    settled.mapping = Default::default();
    let physical = catalog::read_physical(c, &plan.target.schema).await?;
    let existing = c
        .query(
            "SELECT quote_ident(viewname) FROM pg_views WHERE schemaname = $1",
            &[&plan.target.version_schema],
        )
        .await?;
    let vs = quote_ident(&plan.target.version_schema);
    let mut statements: Vec<String> = existing
        .iter()
        .map(|r| format!("DROP VIEW IF EXISTS {vs}.{}", r.get::<_, String>(0)))
        .collect();
    statements.extend(views::create_version_schema(
        &settled.target,
        &physical,
        &settled.mapping,
    ));
    statements.extend(grants(session, &settled, &physical).await?);
    let log = RetryLog {
        ledger: &session.ledger,
        client: c,
        migration_id: &plan.target.migration_id,
        phase: Phase::Complete,
    };
    let result = with_lock_retry(&session.policy, &log, "version schema refresh", || async {
        in_transaction(c, async {
            for (index, s) in statements.iter().enumerate() {
                c.batch_execute(s)
                    .await
                    .map_err(|error| StepError::Statement { index, error })?;
            }
            Ok::<(), StepError>(())
        })
        .await
    })
    .await;
    version_outcome(
        session,
        plan,
        Phase::Complete,
        "refreshing the version schema after complete",
        &statements,
        result,
    )
    .await
}

/// Create the new version schema from the catalog as the expand left it, grant it what its tables
/// grant, and mark the migration expanded, all in one transaction.
async fn publish_version(session: &Session, plan: &Plan) -> Result<()> {
    let c = &session.client;
    let id = &plan.target.migration_id;
    let physical = catalog::read_physical(c, &plan.target.schema).await?;
    let mut statements = views::create_version_schema(&plan.target, &physical, &plan.mapping);
    statements.extend(
        plan.start
            .iter()
            .filter(|s| s.stage == Stage::Views)
            .map(|s| s.sql.clone()),
    );
    statements.extend(grants(session, plan, &physical).await?);
    let log = RetryLog {
        ledger: &session.ledger,
        client: c,
        migration_id: id,
        phase: Phase::Start,
    };
    let result = with_lock_retry(&session.policy, &log, "version schema", || async {
        in_transaction(c, async {
            for (index, s) in statements.iter().enumerate() {
                c.batch_execute(s)
                    .await
                    .map_err(|error| StepError::Statement { index, error })?;
            }
            session
                .ledger
                .transition(
                    c,
                    id,
                    MigrationState::Expanded,
                    Phase::Start,
                    "expanded: old and new versions are live",
                )
                .await?;
            Ok::<(), StepError>(())
        })
        .await
    })
    .await;
    let what = format!("creating version schema {}", plan.target.version_schema);
    version_outcome(session, plan, Phase::Start, &what, &statements, result).await
}

/// The end of a transaction that (re)built a version schema: a failure is recorded as the
/// migration's, resumable, naming the statement.
async fn version_outcome(
    session: &Session,
    plan: &Plan,
    phase: Phase,
    what: &str,
    statements: &[String],
    result: std::result::Result<(), RetryError<StepError>>,
) -> Result<()> {
    let e = match result {
        Ok(()) => return Ok(()),
        Err(RetryError::Ledger(e)) => return Err(e),
        Err(RetryError::Failed(e)) | Err(RetryError::Exhausted { last: e, .. }) => e,
    };
    let detail = match &e {
        StepError::Statement { index, error } => format!(
            "{} — while running: {}",
            crate::error::describe_pg_error(error),
            statements[*index]
        ),
        StepError::Other(e) => e.to_string(),
    };
    let id = &plan.target.migration_id;
    let message = format!("{what}: {detail}");
    session
        .ledger
        .fail(&session.client, id, phase, &message, true)
        .await?;
    Err(Error::MigrationFailed {
        id: id.clone(),
        phase,
        message,
    })
}

/// GRANTs that give each view the privileges its table gives to other roles.
async fn grants(
    session: &Session,
    plan: &Plan,
    physical: &zdm_core::schema::Schema,
) -> Result<Vec<String>> {
    let vs = quote_ident(&plan.target.version_schema);
    let mut out = Vec::new();
    let mut roles = std::collections::BTreeSet::new();
    for table in physical.tables.values() {
        let Some(logical) = views::logical_table_name(&table.physical, &plan.mapping) else {
            continue;
        };
        let rows = session
            .client
            .query(
                "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, a.privilege_type \
                   FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = to_regclass($1) AND a.grantee <> c.relowner",
                &[&quote_qualified(&plan.target.schema, &table.physical)],
            )
            .await?;
        for r in rows {
            let role: String = r.get(0);
            let privilege: String = r.get(1);
            let grantee = if role == "PUBLIC" {
                role.clone()
            } else {
                quote_ident(&role)
            };
            out.push(format!(
                "GRANT {privilege} ON {vs}.{} TO {grantee}",
                quote_ident(logical)
            ));
            roles.insert(grantee);
        }
    }
    for grantee in roles {
        out.push(format!("GRANT USAGE ON SCHEMA {vs} TO {grantee}"));
    }
    Ok(out)
}

fn find_for<'a>(records: &'a [MigrationRecord], id: Option<&str>) -> Result<&'a MigrationRecord> {
    let r = in_flight(records)
        .ok_or_else(|| Error::Refused("no operations migration is in flight".into()))?;
    match id {
        Some(id) if id != r.id => Err(Error::Refused(format!(
            "migration {id} is not in flight ({} is)",
            r.id
        ))),
        _ => Ok(r),
    }
}

/// `zdm complete`: contract the in-flight migration (or resume a contract that stopped).
/// Refuses to complete `id` (or the migration in flight) while it has been expanded for less
/// than `min` (`--min-expanded`: drops and renames only after the soak time).
pub async fn check_soak(
    session: &Session,
    id: Option<&str>,
    min: std::time::Duration,
) -> Result<()> {
    let records = session.ledger.records(&session.client).await?;
    let r = find_for(&records, id)?;
    if r.state != MigrationState::Expanded {
        return Ok(());
    }
    let Some(at) = r.expanded_at else {
        return Ok(());
    };
    let age = (chrono::Utc::now() - at).to_std().unwrap_or_default();
    if age < min {
        return Err(Error::Refused(format!(
            "migration {} has been expanded for {}, less than --min-expanded {}: {} to go (or complete without --min-expanded)",
            r.id,
            humanize(age),
            humanize(min),
            humanize(min - age)
        )));
    }
    Ok(())
}

fn humanize(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// Before the first destructive contract step: a named restore point (`zdm_<id>`, when the role
/// may create one) and the WAL position, kept in the migration's progress so `zdm status` shows
/// where point-in-time recovery would take the database back to.
async fn record_restore_point(session: &Session, id: &str, r: &MigrationRecord) -> Result<()> {
    if r.progress.get("restore_lsn").is_some() {
        return Ok(());
    }
    let c = &session.client;
    let name: String = format!("zdm_{id}").chars().take(63).collect();
    let created = c
        .query_one("SELECT pg_create_restore_point($1)::text", &[&name])
        .await;
    let lsn: String = match &created {
        Ok(row) => row.get(0),
        Err(_) => c
            .query_one("SELECT pg_current_wal_lsn()::text", &[])
            .await?
            .get(0),
    };
    let point = created.as_ref().ok().map(|_| name.clone());
    session
        .ledger
        .save_progress(
            c,
            id,
            &serde_json::json!({ "restore_lsn": lsn, "restore_point": point }),
        )
        .await?;
    let message = match &point {
        Some(p) => format!("restore point {p} at WAL {lsn} before the contract"),
        None => format!("WAL position {lsn} before the contract (no restore point: the role may not create one)"),
    };
    session
        .ledger
        .event(
            c,
            NewEvent::new(id, Phase::Complete, EventLevel::Info, message)
                .details(serde_json::json!({ "lsn": lsn, "restore_point": point })),
        )
        .await?;
    Ok(())
}

pub async fn complete(session: &mut Session, id: Option<&str>) -> Result<String> {
    session.lock_for_writing().await?;
    let records = session.ledger.records(&session.client).await?;
    let r = find_for(&records, id)?;
    let resumable = r.state == MigrationState::Completing
        || (r.state == MigrationState::Failed && r.failed_phase.as_deref() == Some("complete"));
    if r.state != MigrationState::Expanded && !resumable {
        return Err(Error::Refused(format!(
            "migration {} is {}{}; only an expanded migration can be completed",
            r.id,
            r.state,
            r.failed_phase
                .as_deref()
                .map(|p| format!(" (in {p})"))
                .unwrap_or_default()
        )));
    }
    let plan = load_plan(session, r).await?;
    if r.state != MigrationState::Completing {
        session
            .ledger
            .transition(
                &session.client,
                &r.id,
                MigrationState::Completing,
                Phase::Complete,
                "completing",
            )
            .await?;
    }
    crate::failpoint::hit("complete.begun");
    record_restore_point(session, &r.id, r).await?;
    crate::failpoint::hit("complete.restore_point");
    run_steps(session, &r.id, Phase::Complete, &plan.complete).await?;
    if plan.refresh_views_at_complete {
        refresh_version(session, &plan).await?;
    }
    crate::failpoint::hit("complete.before_done");
    session
        .ledger
        .forget_old_writes(&session.client, &r.id)
        .await?;
    session
        .ledger
        .transition(
            &session.client,
            &r.id,
            MigrationState::Completed,
            Phase::Complete,
            "completed",
        )
        .await?;
    Ok(r.id.clone())
}

/// `zdm rollback` of the in-flight operations migration: drop the new version and everything the
/// expand added. Data written through either version stays in the old columns.
pub async fn rollback(session: &mut Session, id: Option<&str>) -> Result<String> {
    session.lock_for_writing().await?;
    let records = session.ledger.records(&session.client).await?;
    let r = find_for(&records, id)?;
    if r.state == MigrationState::Completing
        || (r.state == MigrationState::Failed && r.failed_phase.as_deref() == Some("complete"))
    {
        return Err(Error::Refused(format!("migration {} is past the point of rollback (its contract has begun); run `zdm complete`", r.id)));
    }
    let plan = load_plan(session, r).await?;
    if r.state != MigrationState::RollingBack {
        session
            .ledger
            .transition(
                &session.client,
                &r.id,
                MigrationState::RollingBack,
                Phase::Rollback,
                "rolling back",
            )
            .await?;
    }
    crate::failpoint::hit("rollback.begun");
    run_steps(session, &r.id, Phase::Rollback, &plan.rollback).await?;
    crate::failpoint::hit("rollback.before_done");
    session
        .ledger
        .forget_old_writes(&session.client, &r.id)
        .await?;
    session
        .client
        .execute(
            &session
                .ledger
                .sql("DELETE FROM {s}.backfill_progress WHERE migration_id = $1"),
            &[&r.id],
        )
        .await?;
    session
        .ledger
        .transition(
            &session.client,
            &r.id,
            MigrationState::RolledBack,
            Phase::Rollback,
            "rolled back",
        )
        .await?;
    Ok(r.id.clone())
}
