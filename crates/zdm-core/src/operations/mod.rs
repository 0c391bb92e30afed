//! pgroll-format migrations: the same top-level keys, operation names and field names as pgroll,
//! so pgroll users bring their files unchanged. Unknown fields and operations are errors.

mod common;
mod ops;

pub use common::*;
pub use ops::*;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationsMigration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_schema: Option<String>,
    pub operations: Vec<Operation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
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

/// A static problem with an operation (no database needed to see it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("operation {index} ({op}): {message}")]
pub struct ValidationError {
    pub index: usize,
    pub op: &'static str,
    pub message: String,
}

impl Operation {
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

    /// Static checks: required names present and within PostgreSQL's 63-byte limit, and
    /// combinations pgroll rejects.
    fn check(&self) -> Result<(), String> {
        let mut names: Vec<(&str, &str)> = Vec::new();
        match self {
            Self::CreateTable(o) => {
                names.push(("name", &o.name));
                if o.columns.is_empty() {
                    return Err("a table needs at least one column".into());
                }
                for c in &o.columns {
                    names.push(("column name", &c.name));
                }
            }
            Self::AddColumn(o) => {
                names.extend([
                    ("table", o.table.as_str()),
                    ("column name", o.column.name.as_str()),
                ]);
                if !o.column.nullable
                    && o.column.default.is_none()
                    && o.up.is_none()
                    && !o.column.pk
                {
                    return Err(format!(
                        "column `{}` is NOT NULL without a default: give it a `default` or an `up` to fill existing rows",
                        o.column.name
                    ));
                }
            }
            Self::AlterColumn(o) => {
                names.extend([("table", o.table.as_str()), ("column", o.column.as_str())]);
                let changes = o.data_type.is_some()
                    || o.nullable.is_some()
                    || o.default.is_some()
                    || o.comment.is_some()
                    || o.unique.is_some()
                    || o.check.is_some()
                    || o.references.is_some()
                    || o.name.is_some();
                if !changes {
                    return Err("alter_column changes nothing (set type, nullable, default, comment, unique, check or references)".into());
                }
            }
            Self::RenameColumn(o) => names.extend([
                ("table", o.table.as_str()),
                ("from", &o.from),
                ("to", &o.to),
            ]),
            Self::DropColumn(o) => {
                names.extend([("table", o.table.as_str()), ("column", &o.column)])
            }
            Self::CreateIndex(o) => {
                names.extend([("name", o.name.as_str()), ("table", &o.table)]);
                if o.columns.is_empty() {
                    return Err("an index needs at least one column".into());
                }
            }
            Self::DropIndex(o) => names.push(("name", &o.name)),
            Self::RenameTable(o) => names.extend([("from", o.from.as_str()), ("to", &o.to)]),
            Self::DropTable(o) => names.push(("name", &o.name)),
            Self::Sql(o) => {
                if o.up.trim().is_empty() {
                    return Err("`up` is empty".into());
                }
            }
            Self::CreateConstraint(o) => {
                names.extend([("name", o.name.as_str()), ("table", &o.table)]);
                match o.constraint_type.as_str() {
                    "check" if o.check.is_none() => return Err("a check constraint needs `check`".into()),
                    "foreign_key" if o.references.is_none() => return Err("a foreign key needs `references`".into()),
                    "unique" | "primary_key" | "foreign_key" if o.columns.is_empty() => {
                        return Err(format!("a {} constraint needs `columns`", o.constraint_type))
                    }
                    "check" | "unique" | "primary_key" | "foreign_key" => {}
                    other => return Err(format!("unknown constraint type `{other}` (check, unique, primary_key, foreign_key)")),
                }
            }
            Self::DropConstraint(o) => {
                names.extend([("table", o.table.as_str()), ("name", &o.name)])
            }
            Self::DropMultiColumnConstraint(o) => {
                names.extend([("table", o.table.as_str()), ("name", &o.name)])
            }
            Self::RenameConstraint(o) => names.extend([
                ("table", o.table.as_str()),
                ("from", &o.from),
                ("to", &o.to),
            ]),
            Self::SetReplicaIdentity(o) => {
                names.push(("table", &o.table));
                match o.identity.kind.to_ascii_lowercase().as_str() {
                    "index" if o.identity.index.as_deref().unwrap_or("").is_empty() => {
                        return Err("replica identity `index` needs `index`".into())
                    }
                    "full" | "default" | "nothing" | "index" => {}
                    other => {
                        return Err(format!(
                            "unknown replica identity `{other}` (full, default, nothing, index)"
                        ))
                    }
                }
            }
        }
        for (what, name) in names {
            if name.is_empty() {
                return Err(format!("{what} is empty"));
            }
            if name.len() > 63 {
                return Err(format!(
                    "{what} `{name}` is longer than PostgreSQL's 63-byte limit"
                ));
            }
        }
        Ok(())
    }
}

impl OperationsMigration {
    pub fn validate(&self) -> Result<(), Vec<ValidationError>> {
        if self.operations.is_empty() {
            return Err(vec![ValidationError {
                index: 0,
                op: "-",
                message: "`operations` is empty".into(),
            }]);
        }
        let errors: Vec<ValidationError> = self
            .operations
            .iter()
            .enumerate()
            .filter_map(|(index, op)| {
                op.check().err().map(|message| ValidationError {
                    index,
                    op: op.name(),
                    message,
                })
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
