//! `drop_table`: the new version stops seeing the table at start; the old version keeps it
//! until complete.

use super::check::Problems;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropTable {
    pub name: String,
}

impl DropTable {
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut p = Problems::default();
        p.ident("name", &self.name);
        p.finish()
    }
}
