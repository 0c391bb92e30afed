//! `drop_constraint`: drops a single-column constraint (pgroll deprecates it in favour of
//! drop_multicolumn_constraint, and still runs it). The new version is free of the constraint
//! at start; the old version keeps obeying it until complete.

use super::check::{given, Problems};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropConstraint {
    pub table: String,
    /// The constraint's name.
    pub name: String,
    /// SQL computing the new column from the old value; the column itself when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up: Option<String>,
    /// SQL making a value the new version writes satisfy the constraint for the old version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down: Option<String>,
}

impl DropConstraint {
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut p = Problems::default();
        p.ident("table", &self.table);
        p.ident("name", &self.name);
        if given(&self.down).is_none() {
            p.add(
                "`down` is required: it makes values the new version writes satisfy the \
                 constraint the old version still has",
            );
        }
        p.finish()
    }
}
