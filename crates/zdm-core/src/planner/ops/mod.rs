//! One planner per operation (`PlanOperation`), plus the mechanisms they share.

mod add_column;
mod alter_column;
pub mod columns;
mod create_constraint;
mod create_index;
mod create_table;
mod drop_column;
mod drop_constraint;
mod drop_index;
mod drop_table;
pub mod duplicate;
mod rename_column;
mod rename_constraint;
mod rename_table;
mod set_replica_identity;
mod sql;

pub use drop_column::archived_column;
pub use drop_table::archive_schema;

use super::PlanOperation;
use crate::operations::Operation;

/// The planner of an operation.
pub fn planner(op: &Operation) -> &dyn PlanOperation {
    match op {
        Operation::CreateTable(o) => o,
        Operation::AddColumn(o) => o,
        Operation::AlterColumn(o) => o,
        Operation::RenameColumn(o) => o,
        Operation::DropColumn(o) => o,
        Operation::CreateIndex(o) => o,
        Operation::DropIndex(o) => o,
        Operation::RenameTable(o) => o,
        Operation::DropTable(o) => o,
        Operation::Sql(o) => o,
        Operation::CreateConstraint(o) => o,
        Operation::DropConstraint(o) => o,
        Operation::DropMultiColumnConstraint(o) => o,
        Operation::RenameConstraint(o) => o,
        Operation::SetReplicaIdentity(o) => o,
    }
}
