//! An in-memory model of a PostgreSQL schema's tables, as read from the catalog (zdm-pg's
//! `catalog`) or as a migration changes it. The planner validates operations against it and the
//! version-schema views are generated from it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// The PostgreSQL schema holding the physical tables (e.g. `public`).
    pub name: String,
    pub tables: BTreeMap<String, Table>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Logical name (what applications see in a version schema).
    pub name: String,
    /// Name of the physical table; differs from `name` while a rename_table is in flight.
    pub physical: String,
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    pub indexes: Vec<Index>,
    pub constraints: Vec<Constraint>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Logical name.
    pub name: String,
    /// Physical column name; differs from `name` while the column is renamed or duplicated.
    pub physical: String,
    /// As `format_type` prints it (e.g. `character varying(255)`).
    pub data_type: String,
    pub nullable: bool,
    pub default: Option<String>,
    pub comment: Option<String>,
    /// `a` (ALWAYS) or `d` (BY DEFAULT) for an identity column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The sequence the column owns (serial or identity), qualified and quoted as `regclass`
    /// prints it; it goes with the column when the column is dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Index {
    pub name: String,
    /// Physical column names (empty entries for expressions).
    pub columns: Vec<String>,
    pub unique: bool,
    pub primary: bool,
    /// `pg_get_indexdef`.
    pub definition: String,
}

/// A constraint's kind, stored as PostgreSQL's `pg_constraint.contype` letter (the stored plan
/// JSON keeps those letters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConstraintKind {
    #[serde(rename = "p")]
    PrimaryKey,
    #[serde(rename = "u")]
    Unique,
    #[serde(rename = "c")]
    Check,
    #[serde(rename = "f")]
    ForeignKey,
    #[serde(rename = "x")]
    Exclusion,
    #[serde(rename = "n")]
    NotNull,
    /// Anything a later PostgreSQL adds (`t` constraint triggers today).
    #[serde(other, rename = "?")]
    Other,
}

impl ConstraintKind {
    /// From `pg_constraint.contype`.
    pub fn from_contype(letter: &str) -> ConstraintKind {
        match letter {
            "p" => ConstraintKind::PrimaryKey,
            "u" => ConstraintKind::Unique,
            "c" => ConstraintKind::Check,
            "f" => ConstraintKind::ForeignKey,
            "x" => ConstraintKind::Exclusion,
            "n" => ConstraintKind::NotNull,
            _ => ConstraintKind::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    pub name: String,
    pub kind: ConstraintKind,
    /// Physical column names the constraint is on.
    pub columns: Vec<String>,
    /// `pg_get_constraintdef`.
    pub definition: String,
    pub validated: bool,
    /// For a foreign key: the referenced table (physical, same schema) and its columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<(String, Vec<String>)>,
}

impl Schema {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    pub fn table_mut(&mut self, name: &str) -> Option<&mut Table> {
        self.tables.get_mut(name)
    }
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column, or the error every operation reports for a missing one.
    pub fn require_column(&self, name: &str) -> Result<&Column, String> {
        self.column(name)
            .ok_or_else(|| format!("column `{name}` does not exist in table `{}`", self.name))
    }

    /// The physical name of a column given by its logical name.
    pub fn physical_column(&self, name: &str) -> Result<String, String> {
        self.require_column(name).map(|c| c.physical.clone())
    }

    /// `expr` (written in logical column names) with every column whose physical name differs
    /// put under its physical name, all at once.
    pub fn physical_expr(&self, expr: &str) -> String {
        let with: Vec<(String, String)> = self
            .columns
            .iter()
            .filter(|c| c.name != c.physical)
            .map(|c| (c.name.clone(), crate::ident::quote_ident(&c.physical)))
            .collect();
        if with.is_empty() {
            return expr.to_string();
        }
        crate::planner::rewrite::replace_columns_in_expr(expr, &with)
    }

    pub fn column_mut(&mut self, name: &str) -> Option<&mut Column> {
        self.columns.iter_mut().find(|c| c.name == name)
    }

    pub fn constraint(&self, name: &str) -> Option<&Constraint> {
        self.constraints.iter().find(|c| c.name == name)
    }

    /// The key a backfill walks in order: the primary key, else a unique index over NOT NULL
    /// columns (physical names). None means only `ctid` ranges will do.
    pub fn backfill_key(&self) -> Option<Vec<String>> {
        if !self.primary_key.is_empty() {
            return Some(self.primary_key.clone());
        }
        self.indexes
            .iter()
            .filter(|i| i.unique && !i.columns.is_empty() && !i.definition.contains(" WHERE "))
            .find(|i| {
                i.columns.iter().all(|c| {
                    !c.is_empty()
                        && self
                            .columns
                            .iter()
                            .any(|col| &col.physical == c && !col.nullable)
                })
            })
            .map(|i| i.columns.clone())
    }
}
