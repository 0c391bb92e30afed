//! `drop_column`: the new version stops seeing the column at start; the old version keeps it
//! until complete.

use super::check::Problems;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropColumn {
    pub table: String,
    pub column: String,
    /// SQL computing the dropped column for rows the new version inserts (the old version still
    /// reads it); without it they get the column's default, or NULL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down: Option<String>,
}

impl DropColumn {
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut p = Problems::default();
        p.ident("table", &self.table);
        p.ident("column", &self.column);
        p.finish()
    }
}
