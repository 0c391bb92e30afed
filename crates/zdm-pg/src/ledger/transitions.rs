//! The one place where a migration's state changes. Each transition is a single SQL statement
//! (a data-modifying CTE) that updates the row only if its current state may move to the new one
//! (per `MigrationState::can_become`) and appends the matching event, so the row and the log never
//! disagree, whether or not the caller is inside a transaction.

use super::{EventLevel, Ledger};
use crate::error::{Error, Result};
use tokio_postgres::Client;
use zdm_core::state::{MigrationState, Phase};

/// What the ledger records when a run of a migration begins.
#[derive(Debug, Clone)]
pub struct RunStart<'a> {
    pub id: &'a str,
    pub checksum: &'a str,
    pub kind: &'a str,
    pub migration: serde_json::Value,
    pub parent: Option<&'a str>,
    pub version_schema: Option<&'a str>,
    /// The stored plan (operations migrations), written by the same statement that marks the
    /// run started: a crash can never leave a started migration without the plan that
    /// resuming and rolling it back need.
    pub plan: Option<serde_json::Value>,
}

fn states_that_can_become(to: MigrationState) -> Vec<&'static str> {
    MigrationState::ALL
        .into_iter()
        .filter(|s| s.can_become(to))
        .map(MigrationState::as_str)
        .collect()
}

fn timestamp_column(state: MigrationState) -> &'static str {
    match state {
        MigrationState::Pending | MigrationState::Running => "started_at",
        MigrationState::Expanded => "expanded_at",
        MigrationState::Completing => "completing_at",
        MigrationState::Completed => "completed_at",
        MigrationState::RollingBack => "rolling_back_at",
        MigrationState::RolledBack => "rolled_back_at",
        MigrationState::Failed => "failed_at",
    }
}

pub fn host_name() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

impl Ledger {
    /// Pending, failed, rolled back or interrupted → running. Returns the state it came from
    /// (`Pending` for a new row).
    pub async fn begin_run(
        &self,
        c: &Client,
        run: &RunStart<'_>,
        phase: Phase,
    ) -> Result<MigrationState> {
        let previous = self
            .record(c, run.id)
            .await?
            .map(|r| r.state)
            .unwrap_or(MigrationState::Pending);
        let allowed = states_that_can_become(MigrationState::Running);
        // Without a plan (SQL migrations) the statement leaves the column alone, so it also
        // runs on a ledger older than the column.
        let template = "WITH prev AS (SELECT state FROM {s}.migrations WHERE id = $1), \
                     upd AS ( \
                       INSERT INTO {s}.migrations AS m (id, checksum, kind, state, migration, parent, version_schema, \
                                                        started_at, applied_by_host, zdm_version, plan) \
                       VALUES ($1, $2, $3, 'running', $4, $5, $6, clock_timestamp(), $7, $8, $11) \
                       ON CONFLICT (id) DO UPDATE SET \
                         state = 'running', checksum = EXCLUDED.checksum, kind = EXCLUDED.kind, \
                         migration = EXCLUDED.migration, version_schema = EXCLUDED.version_schema, \
                         plan = coalesce(EXCLUDED.plan, m.plan), \
                         started_at = CASE WHEN m.state = 'rolled_back' THEN clock_timestamp() \
                                           ELSE coalesce(m.started_at, clock_timestamp()) END, \
                         progress = CASE WHEN m.state = 'rolled_back' THEN '{}'::jsonb ELSE m.progress END, \
                         completed_at = NULL, rolled_back_at = NULL, rolling_back_at = NULL, \
                         failed_phase = NULL, resumable = NULL, \
                         applied_by_user = current_user, applied_by_host = EXCLUDED.applied_by_host, \
                         zdm_version = EXCLUDED.zdm_version, updated_at = clock_timestamp() \
                       WHERE m.state = ANY($9) \
                       RETURNING id) \
                     INSERT INTO {s}.events (migration_id, phase, level, message, details) \
                     SELECT id, $10, 'info', \
                            CASE WHEN (SELECT state FROM prev) IS NULL THEN 'started' \
                                 ELSE 'started again (was ' || (SELECT state FROM prev) || ')' END, \
                            jsonb_build_object('checksum', $2::text, 'host', $7::text, 'zdm_version', $8::text) \
                     FROM upd RETURNING id";
        let template = if run.plan.is_some() {
            template.to_string()
        } else {
            template
                .replace(", zdm_version, plan)", ", zdm_version)")
                .replace(", $8, $11)", ", $8)")
                .replace("plan = coalesce(EXCLUDED.plan, m.plan), ", "")
        };
        let host = host_name();
        let version = env!("CARGO_PKG_VERSION");
        let phase_name = phase.as_str();
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![
            &run.id,
            &run.checksum,
            &run.kind,
            &run.migration,
            &run.parent,
            &run.version_schema,
            &host,
            &version,
            &allowed,
            &phase_name,
        ];
        if run.plan.is_some() {
            params.push(&run.plan);
        }
        let row = c.query_opt(&self.sql(&template), &params).await?;
        if row.is_none() {
            return Err(Error::Refused(format!(
                "migration {} is {previous}; it cannot be started again",
                run.id
            )));
        }
        tracing::info!(
            migration = run.id,
            phase = phase.as_str(),
            "started (was {previous})"
        );
        Ok(previous)
    }

    /// Move `id` to `to`, appending an event with `message`. Fails if the current state does not
    /// allow it.
    pub async fn transition(
        &self,
        c: &Client,
        id: &str,
        to: MigrationState,
        phase: Phase,
        message: &str,
    ) -> Result<()> {
        let allowed = states_that_can_become(to);
        // Duration of the phase that ends here: a run ends at expanded/completed, a rollback at
        // rolled_back.
        let duration_from = match to {
            MigrationState::Expanded | MigrationState::Completed => Some("started_at"),
            MigrationState::RolledBack => Some("rolling_back_at"),
            _ => None,
        };
        let duration = match duration_from {
            Some(col) => format!("(extract(epoch FROM clock_timestamp() - {col}) * 1000)::bigint"),
            None => "duration_ms".to_string(),
        };
        let clear_failure = if to == MigrationState::Failed {
            ""
        } else {
            ", failed_phase = NULL, resumable = NULL"
        };
        let sql = self.sql(&format!(
            "WITH upd AS (UPDATE {{s}}.migrations SET state = $2, {ts} = clock_timestamp(), \
                   duration_ms = {duration}, updated_at = clock_timestamp(){clear_failure} \
                   WHERE id = $1 AND state = ANY($3) RETURNING id) \
             INSERT INTO {{s}}.events (migration_id, phase, level, message, details) \
             SELECT id, $4, 'info', $5, jsonb_build_object('state', $2::text) FROM upd RETURNING id",
            ts = timestamp_column(to),
        ));
        let row = c
            .query_opt(
                &sql,
                &[&id, &to.as_str(), &allowed, &phase.as_str(), &message],
            )
            .await?;
        if row.is_none() {
            let current = self
                .record(c, id)
                .await?
                .map(|r| r.state.to_string())
                .unwrap_or_else(|| "pending".into());
            return Err(Error::Ledger(format!(
                "migration {id} cannot move from {current} to {to}"
            )));
        }
        tracing::info!(
            migration = id,
            phase = phase.as_str(),
            state = to.as_str(),
            "{message}"
        );
        Ok(())
    }

    /// Record a failure: state `failed`, the phase, whether `zdm` can resume it, and the error.
    pub async fn fail(
        &self,
        c: &Client,
        id: &str,
        phase: Phase,
        error: &str,
        resumable: bool,
    ) -> Result<()> {
        let allowed = states_that_can_become(MigrationState::Failed);
        let row = c
            .query_opt(
                &self.sql(
                    "WITH upd AS (UPDATE {s}.migrations SET state = 'failed', failed_at = clock_timestamp(), \
                           failed_phase = $2, resumable = $3, last_error = $4, updated_at = clock_timestamp() \
                           WHERE id = $1 AND state = ANY($5) RETURNING id) \
                     INSERT INTO {s}.events (migration_id, phase, level, message, details) \
                     SELECT id, $2, 'error', 'failed: ' || $4, jsonb_build_object('resumable', $3::boolean) FROM upd \
                     RETURNING id",
                ),
                &[&id, &phase.as_str(), &resumable, &error, &allowed],
            )
            .await?;
        if row.is_none() {
            return Err(Error::Ledger(format!(
                "migration {id} cannot be marked failed from its current state"
            )));
        }
        super::events::emit(
            &super::NewEvent::new(id, phase, EventLevel::Error, format!("failed: {error}"))
                .details(serde_json::json!({ "resumable": resumable })),
        );
        Ok(())
    }

    /// Record an already-applied migration without running it (`zdm baseline`).
    pub async fn record_baseline(&self, c: &Client, run: &RunStart<'_>) -> Result<()> {
        c.execute(
            &self.sql(
                "WITH ins AS (INSERT INTO {s}.migrations (id, checksum, kind, state, migration, parent, baselined, \
                               started_at, completed_at, duration_ms, applied_by_host, zdm_version) \
                     VALUES ($1, $2, $3, 'completed', $4, $5, true, clock_timestamp(), clock_timestamp(), 0, $6, $7) \
                     RETURNING id) \
                 INSERT INTO {s}.events (migration_id, phase, level, message) \
                 SELECT id, 'ledger', 'info', 'baselined: recorded as applied without running it' FROM ins",
            ),
            &[&run.id, &run.checksum, &run.kind, &run.migration, &run.parent, &host_name(), &env!("CARGO_PKG_VERSION")],
        )
        .await?;
        tracing::info!(migration = run.id, phase = "ledger", "baselined");
        Ok(())
    }
}
