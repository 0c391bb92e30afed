//! `rename_column`: the new version's view shows the column under its new name; the physical
//! column is renamed at complete.

use super::check::Problems;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameColumn {
    pub table: String,
    pub from: String,
    pub to: String,
}

impl RenameColumn {
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut p = Problems::default();
        p.ident("table", &self.table);
        p.ident("from", &self.from);
        p.ident("to", &self.to);
        if !self.from.is_empty() && self.from == self.to {
            p.add("`from` and `to` are the same name");
        }
        p.finish()
    }
}
