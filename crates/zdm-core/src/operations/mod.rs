//! pgroll-format migrations: the same top-level keys, operation names and field names as pgroll
//! (its `schema.json`), so pgroll users bring their files unchanged. Unknown fields and
//! operations are errors, as in pgroll. One file per operation; shared pieces in `common`.
//!
//! Two older pgroll forms are still read: alter_column's `name` (rename, removed in pgroll 0.9)
//! and create_index `columns` given as plain names (before pgroll 0.10).

mod add_column;
mod alter_column;
mod check;
mod common;
mod create_constraint;
mod create_index;
mod create_table;
mod drop_column;
mod drop_constraint;
mod drop_index;
mod drop_multicolumn_constraint;
mod drop_table;
mod rename_column;
mod rename_constraint;
mod rename_table;
mod set_replica_identity;
mod sql;

pub use add_column::AddColumn;
pub use alter_column::AlterColumn;
pub use check::MAX_IDENTIFIER_BYTES;
pub use common::*;
pub use create_constraint::{CreateConstraint, CREATE_CONSTRAINT_TYPES};
pub use create_index::{CreateIndex, IndexColumn, IndexField, OpClass, INDEX_METHODS};
pub use create_table::CreateTable;
pub use drop_column::DropColumn;
pub use drop_constraint::DropConstraint;
pub use drop_index::DropIndex;
pub use drop_multicolumn_constraint::DropMultiColumnConstraint;
pub use drop_table::DropTable;
pub use rename_column::RenameColumn;
pub use rename_constraint::RenameConstraint;
pub use rename_table::RenameTable;
pub use set_replica_identity::{ReplicaIdentity, SetReplicaIdentity, REPLICA_IDENTITY_TYPES};
pub use sql::RawSql;

use check::Problems;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// A pgroll migration file: `operations` run in order as one migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationsMigration {
    /// pgroll takes a migration's name from its file name and ignores this; so does zdm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The schema the new version's views go in, instead of one named after the migration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_schema: Option<String>,
    pub operations: Vec<Operation>,
}

/// One operation, written as a single-key mapping: `{create_table: {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    CreateTable(CreateTable),
    AddColumn(AddColumn),
    AlterColumn(AlterColumn),
    RenameColumn(RenameColumn),
    DropColumn(DropColumn),
    CreateIndex(CreateIndex),
    DropIndex(DropIndex),
    RenameTable(RenameTable),
    DropTable(DropTable),
    Sql(RawSql),
    CreateConstraint(CreateConstraint),
    DropConstraint(DropConstraint),
    #[serde(rename = "drop_multicolumn_constraint")]
    DropMultiColumnConstraint(DropMultiColumnConstraint),
    RenameConstraint(RenameConstraint),
    SetReplicaIdentity(SetReplicaIdentity),
}

impl Operation {
    /// The pgroll operation name, as written in files.
    pub fn name(&self) -> &'static str {
        match self {
            Self::CreateTable(_) => "create_table",
            Self::AddColumn(_) => "add_column",
            Self::AlterColumn(_) => "alter_column",
            Self::RenameColumn(_) => "rename_column",
            Self::DropColumn(_) => "drop_column",
            Self::CreateIndex(_) => "create_index",
            Self::DropIndex(_) => "drop_index",
            Self::RenameTable(_) => "rename_table",
            Self::DropTable(_) => "drop_table",
            Self::Sql(_) => "sql",
            Self::CreateConstraint(_) => "create_constraint",
            Self::DropConstraint(_) => "drop_constraint",
            Self::DropMultiColumnConstraint(_) => "drop_multicolumn_constraint",
            Self::RenameConstraint(_) => "rename_constraint",
            Self::SetReplicaIdentity(_) => "set_replica_identity",
        }
    }

    /// The table the operation works on, under the name it has before the operation
    /// (rename_table: `from`). `None` for drop_index (index names are schema-wide) and sql.
    pub fn table(&self) -> Option<&str> {
        Some(match self {
            Self::CreateTable(o) => &o.name,
            Self::AddColumn(o) => &o.table,
            Self::AlterColumn(o) => &o.table,
            Self::RenameColumn(o) => &o.table,
            Self::DropColumn(o) => &o.table,
            Self::CreateIndex(o) => &o.table,
            Self::RenameTable(o) => &o.from,
            Self::DropTable(o) => &o.name,
            Self::CreateConstraint(o) => &o.table,
            Self::DropConstraint(o) => &o.table,
            Self::DropMultiColumnConstraint(o) => &o.table,
            Self::RenameConstraint(o) => &o.table,
            Self::SetReplicaIdentity(o) => &o.table,
            Self::DropIndex(_) | Self::Sql(_) => return None,
        })
    }

    /// Checks that need no database, taking the operation on its own (an add_column's table is
    /// assumed to exist already). Each problem names the field it is about.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        match self {
            Self::CreateTable(o) => o.validate(),
            Self::AddColumn(o) => o.validate(),
            Self::AlterColumn(o) => o.validate(),
            Self::RenameColumn(o) => o.validate(),
            Self::DropColumn(o) => o.validate(),
            Self::CreateIndex(o) => o.validate(),
            Self::DropIndex(o) => o.validate(),
            Self::RenameTable(o) => o.validate(),
            Self::DropTable(o) => o.validate(),
            Self::Sql(o) => o.validate(),
            Self::CreateConstraint(o) => o.validate(),
            Self::DropConstraint(o) => o.validate(),
            Self::DropMultiColumnConstraint(o) => o.validate(),
            Self::RenameConstraint(o) => o.validate(),
            Self::SetReplicaIdentity(o) => o.validate(),
        }
    }
}

/// A problem found without a database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// The operation: its 0-based position in `operations` and its pgroll name. `None` for a
    /// problem of the migration as a whole (no operations, a bad `version_schema`).
    pub operation: Option<(usize, &'static str)>,
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.operation {
            Some((index, op)) => write!(f, "operation {index} ({op}): {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl OperationsMigration {
    /// Every problem visible without a database, in file order. Beyond each operation's own
    /// checks, it knows which tables earlier operations of the migration create: adding a NOT
    /// NULL or primary-key column to such a table is fine, as it is still empty.
    pub fn validate(&self) -> Result<(), Vec<ValidationError>> {
        let mut errors = Vec::new();
        if self.operations.is_empty() {
            errors.push(ValidationError {
                operation: None,
                message: "`operations` is empty: a migration needs at least one operation".into(),
            });
        }
        if let Some(schema) = &self.version_schema {
            let mut p = Problems::default();
            p.ident("version_schema", schema);
            errors.extend(
                p.finish()
                    .err()
                    .into_iter()
                    .flatten()
                    .map(|message| ValidationError {
                        operation: None,
                        message,
                    }),
            );
        }

        let mut created: BTreeSet<&str> = BTreeSet::new();
        for (index, op) in self.operations.iter().enumerate() {
            let result = match op {
                Operation::AddColumn(o) => o.check(created.contains(o.table.as_str())),
                other => other.validate(),
            };
            if let Err(messages) = result {
                errors.extend(messages.into_iter().map(|message| ValidationError {
                    operation: Some((index, op.name())),
                    message,
                }));
            }
            match op {
                Operation::CreateTable(o) => {
                    created.insert(&o.name);
                }
                Operation::RenameTable(o) if created.contains(o.from.as_str()) => {
                    created.remove(o.from.as_str());
                    created.insert(&o.to);
                }
                Operation::DropTable(o) => {
                    created.remove(o.name.as_str());
                }
                _ => {}
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
