//! The planner turns a migration's operations, checked against the current schema, into a
//! [`Plan`]: the exact SQL of every phase (start, complete, rollback), which tables need a
//! backfill, the dual-write triggers, and how the new version's views map logical names to
//! physical ones. It reads nothing but its inputs, so `zdm plan` can print the plan without
//! touching the database, and the plan stored in the ledger at start is what complete and
//! rollback later run.

mod lock;
pub use lock::{Lock, LockMode};
mod context;
pub mod ops;
pub mod render;
pub mod rewrite;
mod settle;
pub mod triggers;
pub mod views;

pub use context::PlanContext;

use crate::schema::Schema;
use serde::{Deserialize, Serialize};

/// Where a migration is planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// Schema of the physical tables (e.g. `public`).
    pub schema: String,
    /// zdm's ledger schema: trigger functions and the version helper live there.
    pub ledger_schema: String,
    pub migration_id: String,
    /// Schema holding the new version's views.
    pub version_schema: String,
    /// The previous version's view schema, dropped at complete (None before the first migration).
    pub previous_version_schema: Option<String>,
    /// `server_version_num` (e.g. 150004): gates security_invoker views and similar.
    pub server_version: i32,
}

/// When a step runs within its phase. Steps run in stage order; the transactional steps of one
/// stage run in a single transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Start: additive DDL, helper columns and their triggers, together.
    Expand,
    /// Start: index builds and other statements that cannot run in a transaction.
    ExpandConcurrently,
    /// Start, after the backfill: the new version schema and its views.
    Views,
    /// Complete: constraint validation, each in its own transaction (no write-blocking lock).
    Validate,
    /// Complete: drop the old version, triggers, helper columns; renames; NOT NULL.
    Contract,
    /// Complete: concurrent index drops and work after the contract.
    ContractConcurrently,
    /// Rollback: drop the new version schema first, so nothing writes through it.
    Unview,
    /// Rollback: undo the expand.
    Undo,
    /// Rollback: concurrent index drops.
    UndoConcurrently,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Runs inside the stage's transaction.
    Transaction,
    /// Runs in a transaction of its own (e.g. VALIDATE CONSTRAINT).
    OwnTransaction,
    /// Runs outside any transaction (CONCURRENTLY).
    NoTransaction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub stage: Stage,
    pub mode: Mode,
    pub sql: String,
    /// The lock it takes and on what, for `zdm plan` (e.g. "ACCESS EXCLUSIVE on public.users (brief)").
    pub lock: Lock,
}

/// A table whose helper columns must be filled for existing rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backfill {
    /// Physical table name.
    pub table: String,
    /// Physical key columns walked in order; None → ctid ranges.
    pub key: Option<Vec<String>>,
    /// The `SET` assignments that compute the helper columns (the trigger's old → new `up`
    /// SQL; the old version's column names are the physical ones). The backfill runs them in
    /// plain SQL with the trigger skipped, instead of paying a PL/pgSQL call per row.
    #[serde(default)]
    pub set: Vec<String>,
}

/// One table as the new version sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableMapping {
    pub logical: String,
    pub physical: String,
    /// Logical → physical for columns whose names differ.
    pub renamed: Vec<(String, String)>,
    /// Physical columns the new version does not see.
    pub hidden: Vec<String>,
    /// (helper, original): a helper column that takes the place of the column it replaces.
    #[serde(default)]
    pub replaces: Vec<(String, String)>,
}

/// How the new version's views map names, applied to the catalog as it is after the expand (so
/// raw SQL operations are picked up too).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionMapping {
    /// Tables whose mapping is not the identity.
    pub tables: Vec<TableMapping>,
    /// Physical tables the new version does not see.
    pub hidden_tables: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub target: Target,
    pub start: Vec<Step>,
    pub backfills: Vec<Backfill>,
    pub mapping: VersionMapping,
    pub complete: Vec<Step>,
    pub rollback: Vec<Step>,
    /// The new version's logical schema as the planner predicts it.
    pub new_schema: Schema,
    /// SQL run at complete (`sql` with `onComplete`) may have created or changed tables: the new
    /// version's views are then built again from the catalog once the contract has run.
    #[serde(default)]
    pub refresh_views_at_complete: bool,
}

/// What is wrong with an operation, judged against the current schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("operation {index} ({op}): {message}")]
pub struct PlanError {
    pub index: usize,
    pub op: &'static str,
    pub message: String,
}

/// Implemented by every operation (one per file under `planner/ops/`).
pub trait PlanOperation {
    /// Check the operation against `ctx.new` (the schema as the earlier operations of the same
    /// migration left it), record its SQL for each phase, and update `ctx.new`.
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String>;
}

/// Plan a migration's operations against `current` (the target schema as it is now).
pub fn plan_migration(
    migration: &crate::operations::OperationsMigration,
    target: Target,
    current: Schema,
) -> Result<Plan, PlanError> {
    let ops: Vec<(&'static str, &dyn PlanOperation)> = migration
        .operations
        .iter()
        .map(|o| (o.name(), ops::planner(o)))
        .collect();
    PlanContext::new(target, current).plan_all(&ops)
}
