//! `create_constraint`: a constraint on an existing table's columns, binding only the new
//! version until complete. Each covered column is duplicated, so each needs `up` and `down`.

use super::check::{given, Problems};
use super::common::{is_false, ColumnSql, IndexParameters, TableForeignKeyReference};
use serde::{Deserialize, Serialize};

/// create_constraint's types (create_table's `constraints` also have `exclude`).
pub const CREATE_CONSTRAINT_TYPES: &[&str] = &["unique", "check", "foreign_key", "primary_key"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateConstraint {
    pub table: String,
    pub name: String,
    /// One of [`CREATE_CONSTRAINT_TYPES`], exactly as written there.
    #[serde(rename = "type")]
    pub constraint_type: String,
    /// The covered (for a foreign key: referencing) columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// The expression of a check constraint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_inherit: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_parameters: Option<IndexParameters>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<TableForeignKeyReference>,
    /// Per column: SQL making an old value satisfy the constraint (old → new).
    #[serde(default, skip_serializing_if = "ColumnSql::is_empty")]
    pub up: ColumnSql,
    /// Per column: SQL computing the old column from the new one (new → old).
    #[serde(default, skip_serializing_if = "ColumnSql::is_empty")]
    pub down: ColumnSql,
}

impl CreateConstraint {
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut p = Problems::default();
        p.ident("table", &self.table);
        p.ident("name", &self.name);
        p.idents("columns", &self.columns);
        p.no_duplicates("`columns`: column", self.columns.iter().map(String::as_str));
        let ty = self.constraint_type.as_str();
        if p.exact("type", ty, CREATE_CONSTRAINT_TYPES) {
            let a = match ty {
                "unique" => "a unique constraint",
                "check" => "a check constraint",
                "primary_key" => "a primary key",
                _ => "a foreign key",
            };
            if ty != "check" && self.columns.is_empty() {
                p.add(format!("`columns` is required for {a}"));
            }
            let check = given(&self.check);
            if ty == "check" && check.is_none() {
                p.add(format!("`check` (the expression) is required for {a}"));
            }
            p.not_applicable("check", ty != "check" && check.is_some(), a);
            p.not_applicable("no_inherit", ty != "check" && self.no_inherit, a);
            match (&self.references, ty) {
                (Some(r), "foreign_key") => r.check("references", &self.columns, &mut p),
                (None, "foreign_key") => p.add(format!("`references` is required for {a}")),
                (r, _) => p.not_applicable("references", r.is_some(), a),
            }
            match &self.index_parameters {
                Some(ip) if matches!(ty, "unique" | "primary_key") => {
                    ip.check("index_parameters", &mut p)
                }
                ip => p.not_applicable(
                    "index_parameters",
                    ip.as_ref().is_some_and(IndexParameters::is_set),
                    a,
                ),
            }
        }
        // pgroll: an `up` and a `down` for each covered column, and no other column.
        for (field, map) in [("up", &self.up), ("down", &self.down)] {
            for c in &self.columns {
                if !c.is_empty() && !map.contains_key(c) {
                    p.add(format!("`{field}` has no entry for column `{c}`"));
                }
            }
            for k in map.keys() {
                if !self.columns.contains(k) {
                    p.add(format!(
                        "`{field}` has an entry for `{k}`, which is not one of `columns`"
                    ));
                }
            }
        }
        p.finish()
    }
}
