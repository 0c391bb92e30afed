//! `drop_multicolumn_constraint`: like drop_constraint for a constraint over any number of
//! columns, with `up` / `down` per column.

use super::check::Problems;
use super::common::ColumnSql;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropMultiColumnConstraint {
    pub table: String,
    /// The constraint's name.
    pub name: String,
    /// Per column: SQL computing the new column from the old value; the column itself when
    /// absent.
    #[serde(default, skip_serializing_if = "ColumnSql::is_empty")]
    pub up: ColumnSql,
    /// Per column: SQL making a value the new version writes satisfy the constraint. pgroll
    /// requires an entry for every column of the constraint, and only those; which columns
    /// those are is known only from the database.
    #[serde(default, skip_serializing_if = "ColumnSql::is_empty")]
    pub down: ColumnSql,
}

impl DropMultiColumnConstraint {
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut p = Problems::default();
        p.ident("table", &self.table);
        p.ident("name", &self.name);
        if self.down.is_empty() {
            p.add("`down` is required: one entry per column of the constraint");
        }
        for (field, map) in [("up", &self.up), ("down", &self.down)] {
            for k in map.keys() {
                p.ident(&format!("{field}.{k}"), k);
            }
        }
        p.finish()
    }
}
