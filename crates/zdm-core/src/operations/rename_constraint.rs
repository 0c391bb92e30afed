//! `rename_constraint`: renames a constraint of a table; constraint names are not part of the
//! version views, so this is a catalog-only change.

use super::check::Problems;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameConstraint {
    pub table: String,
    pub from: String,
    pub to: String,
}

impl RenameConstraint {
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
