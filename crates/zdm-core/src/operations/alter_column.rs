//! `alter_column`: changes to one column (any combination of the sub-changes below). A change
//! the old version must not see is made on a duplicate of the column, kept in step by `up`
//! (old → new) and `down` (new → old) and swapped in at complete.

use super::check::{given, Problems};
use super::common::{double_option, CheckConstraint, ForeignKeyReference, UniqueConstraint};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlterColumn {
    pub table: String,
    pub column: String,
    /// Renames the column. pgroll 0.9 removed this in favour of rename_column; zdm still
    /// reads it so older files keep working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The new type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
    /// `false` adds NOT NULL, `true` drops it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nullable: Option<bool>,
    /// `Some(Some(sql))` sets the default, `Some(None)` (`default: null`) drops it.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub default: Option<Option<String>>,
    /// `Some(None)` (`comment: null`) removes the comment.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub comment: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique: Option<UniqueConstraint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckConstraint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<ForeignKeyReference>,
    /// SQL computing the new column from the old row (the column's own name is its old value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up: Option<String>,
    /// SQL computing the old column from a row the new version wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down: Option<String>,
}

impl AlterColumn {
    /// Checks that need no database, with pgroll's rules for which sub-changes need `up` and
    /// `down`: a type change, a check and a foreign key need both (existing values may not fit),
    /// `nullable: false` needs `up` (to replace NULLs), `nullable: true` needs `down` (the old
    /// version cannot take the NULLs the new one may write); unique, default and comment need
    /// neither.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut p = Problems::default();
        p.ident("table", &self.table);
        p.ident("column", &self.column);
        let changes = self.data_type.is_some()
            || self.nullable.is_some()
            || self.default.is_some()
            || self.comment.is_some()
            || self.unique.is_some()
            || self.check.is_some()
            || self.references.is_some()
            || self.name.is_some();
        if !changes {
            p.add(
                "alter_column changes nothing: set at least one of type, nullable, default, \
                 comment, unique, check, references",
            );
        }
        if let Some(to) = &self.name {
            p.ident("name", to);
            if *to == self.column {
                p.add("`name` is the column's current name");
            }
        }
        if let Some(t) = &self.data_type {
            p.sql("type", t);
        }
        if let Some(u) = &self.unique {
            u.check("unique", &mut p);
        }
        if let Some(c) = &self.check {
            c.check("check", &mut p);
        }
        if let Some(r) = &self.references {
            r.check("references", &mut p);
        }

        let mut need_up = Vec::new();
        let mut need_down = Vec::new();
        for (set, field) in [
            (self.data_type.is_some(), "type"),
            (self.check.is_some(), "check"),
            (self.references.is_some(), "references"),
        ] {
            if set {
                need_up.push(field);
                need_down.push(field);
            }
        }
        match self.nullable {
            Some(false) => need_up.push("nullable: false"),
            Some(true) => need_down.push("nullable: true"),
            None => {}
        }
        if !need_up.is_empty() && given(&self.up).is_none() {
            p.add(format!(
                "`up` is required with {}: it computes the new column from the old value, for \
                 existing rows and rows the old version writes",
                need_up.join(", ")
            ));
        }
        if !need_down.is_empty() && given(&self.down).is_none() {
            p.add(format!(
                "`down` is required with {}: it computes the old column from rows the new \
                 version writes",
                need_down.join(", ")
            ));
        }
        p.finish()
    }
}
