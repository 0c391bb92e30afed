//! `create_table`: a new table, visible only in the new version until complete.

use super::check::Problems;
use super::common::{Column, TableConstraint};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTable {
    pub name: String,
    pub columns: Vec<Column>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Table-level constraints; a primary key goes either here or in the columns' `pk`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<TableConstraint>,
}

impl CreateTable {
    /// Checks that need no database. Problems name fields by path (`columns[1].name`).
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut p = Problems::default();
        p.ident("name", &self.name);
        if self.columns.is_empty() {
            p.add("`columns` is empty: a table needs at least one column");
        }
        for (i, c) in self.columns.iter().enumerate() {
            c.check(&format!("columns[{i}]"), &mut p);
        }
        p.no_duplicates("column", self.columns.iter().map(|c| c.name.as_str()));

        let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        for (i, c) in self.constraints.iter().enumerate() {
            c.check(&format!("constraints[{i}]"), &names, &mut p);
        }
        let primary_keys = self
            .constraints
            .iter()
            .filter(|c| c.constraint_type == "primary_key")
            .count();
        if primary_keys > 0 && self.columns.iter().any(|c| c.pk) {
            p.add("the primary key is set both by columns' `pk` and by a primary_key constraint; use one");
        }
        if primary_keys > 1 {
            p.add("more than one primary_key constraint");
        }
        // Constraint names share one namespace per table.
        let constraint_names = self
            .columns
            .iter()
            .flat_map(|c| {
                let check = c.check.as_ref().map(|k| k.name.as_str());
                let fk = c.references.as_ref().map(|r| r.name.as_str());
                check.into_iter().chain(fk)
            })
            .chain(self.constraints.iter().map(|c| c.name.as_str()));
        p.no_duplicates("constraint name", constraint_names);
        p.finish()
    }
}
