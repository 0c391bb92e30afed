//! `add_column`: a new column, invisible to the old version's views; `up` fills it for rows the
//! old version writes and, by backfill, for existing rows.

use super::check::{given, Problems};
use super::common::Column;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddColumn {
    pub table: String,
    pub column: Column,
    /// SQL computing the new column from the row's other columns (by their names), used for
    /// existing rows and rows the old version writes. When absent the column gets its `default`
    /// (or NULL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up: Option<String>,
}

impl AddColumn {
    /// Checks that need no database, for a table that exists before the migration.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        self.check(false)
    }

    /// `table_is_new`: the table is created earlier in the same migration, so it is empty:
    /// NOT NULL needs nothing to fill existing rows and a primary-key column is possible.
    pub(crate) fn check(&self, table_is_new: bool) -> Result<(), Vec<String>> {
        let mut p = Problems::default();
        p.ident("table", &self.table);
        let c = &self.column;
        c.check("column", &mut p);
        if !table_is_new {
            if c.pk {
                p.add(
                    "adding a primary-key column to an existing table is not supported: add the \
                     column, then create_constraint with type primary_key",
                );
            } else if !c.nullable
                && c.default.is_none()
                && given(&self.up).is_none()
                && c.generated.is_none()
                && !c.has_implicit_default()
            {
                p.add(format!(
                    "column `{}` is NOT NULL without a default: give it a `default` or an `up` to \
                     fill existing rows (or `nullable: true`)",
                    c.name
                ));
            }
        }
        p.finish()
    }
}
