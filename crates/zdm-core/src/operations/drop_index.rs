//! `drop_index`: the old version may rely on the index, so it goes at complete. Index names are
//! schema-wide, hence no `table`.

use super::check::Problems;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropIndex {
    pub name: String,
}

impl DropIndex {
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut p = Problems::default();
        p.ident("name", &self.name);
        p.finish()
    }
}
