//! `rename_table`: the new version's view has the new name; the table is renamed at complete.

use super::check::Problems;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameTable {
    pub from: String,
    pub to: String,
}

impl RenameTable {
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut p = Problems::default();
        p.ident("from", &self.from);
        p.ident("to", &self.to);
        if !self.from.is_empty() && self.from == self.to {
            p.add("`from` and `to` are the same name");
        }
        p.finish()
    }
}
