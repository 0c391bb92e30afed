//! Pieces shared by several operations: column definitions, check / unique / foreign-key
//! constraints and the table-level constraint of `create_table`. Field names are pgroll's
//! (`schema.json`); optional fields are omitted when serializing, so a parsed file
//! serializes back to the same keys.

use super::check::{given, Problems};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// Distinguishes a missing field (`None`) from an explicit `null` (`Some(None)`), which
/// alter_column's `default` and `comment` use to mean "remove it".
pub(crate) fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// PostgreSQL's referential actions (`ON DELETE` / `ON UPDATE`).
pub const FOREIGN_KEY_ACTIONS: &[&str] = &[
    "NO ACTION",
    "RESTRICT",
    "CASCADE",
    "SET NULL",
    "SET DEFAULT",
];
/// pgroll's foreign-key match types; PostgreSQL rejects `PARTIAL` ("not yet implemented").
pub const FOREIGN_KEY_MATCH_TYPES: &[&str] = &["SIMPLE", "FULL", "PARTIAL"];

/// Per-column SQL of create_constraint / drop_multicolumn_constraint (`up` / `down`), keyed by
/// column name.
pub type ColumnSql = BTreeMap<String, String>;

/// A column of create_table or add_column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub name: String,
    /// The PostgreSQL type, pasted into SQL as written (`varchar(255)`, `text[]`, an enum).
    #[serde(rename = "type")]
    pub data_type: String,
    /// pgroll's default is NOT NULL: a column is nullable only with `nullable: true`.
    /// A primary-key column is NOT NULL whatever this says (PostgreSQL enforces it).
    #[serde(default, skip_serializing_if = "is_false")]
    pub nullable: bool,
    /// Part of the primary key (several `pk` columns make a composite key).
    #[serde(default, skip_serializing_if = "is_false")]
    pub pk: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
    /// An SQL expression, pasted as written: string literals need their own quotes (`'''x'''`
    /// in YAML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckConstraint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<ForeignKeyReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<Generated>,
}

/// `GENERATED ALWAYS AS (expression) STORED` or an identity column; exactly one of the two.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generated {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// As in CREATE SEQUENCE (`START 100 INCREMENT 10`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_options: Option<String>,
    /// `ALWAYS` (pgroll's default) or `BY DEFAULT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_specified_values: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConstraint {
    pub name: String,
    /// The boolean SQL expression.
    pub constraint: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_inherit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UniqueConstraint {
    pub name: String,
}

/// A column-level foreign key (column, add_column, alter_column).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignKeyReference {
    /// The constraint's name.
    pub name: String,
    pub table: String,
    pub column: String,
    /// One of [`FOREIGN_KEY_ACTIONS`]; PostgreSQL's default `NO ACTION` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_update: Option<String>,
    /// `SIMPLE` (default) or `FULL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_type: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub deferrable: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub initially_deferred: bool,
}

/// A table-level (possibly multi-column) foreign key of create_table / create_constraint. The
/// constraint's name and referencing columns live in the enclosing constraint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableForeignKeyReference {
    pub table: String,
    /// The referenced columns, in the order of the constraint's `columns`.
    pub columns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_update: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<String>,
    /// `ON DELETE SET NULL (a, b)`: only with `SET NULL` / `SET DEFAULT`, a subset of the
    /// constraint's columns (PostgreSQL 15+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete_set_columns: Option<Vec<String>>,
}

/// Index settings of a unique / primary-key / exclusion constraint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexParameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tablespace: Option<String>,
    /// `WITH (...)` contents, e.g. `fillfactor=70`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_parameters: Option<String>,
    /// `INCLUDE (...)` columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_columns: Option<Vec<String>>,
}

/// `EXCLUDE USING index_method (elements) WHERE (predicate)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclude {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_method: Option<String>,
    /// E.g. `title WITH =, during WITH &&`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elements: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
}

/// The constraint types of create_table's `constraints` (create_constraint has no `exclude`).
pub const TABLE_CONSTRAINT_TYPES: &[&str] =
    &["unique", "check", "primary_key", "foreign_key", "exclude"];

/// A table constraint of create_table (pgroll's `Constraint`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableConstraint {
    pub name: String,
    /// One of [`TABLE_CONSTRAINT_TYPES`], exactly as written there.
    #[serde(rename = "type")]
    pub constraint_type: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub deferrable: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub initially_deferred: bool,
    /// Unique only (PostgreSQL 15+).
    #[serde(default, skip_serializing_if = "is_false")]
    pub nulls_not_distinct: bool,
    /// Check only.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_inherit: bool,
    /// The expression of a check constraint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<TableForeignKeyReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Exclude>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_parameters: Option<IndexParameters>,
}

impl Column {
    /// A primary-key column is NOT NULL whatever `nullable` says.
    pub fn is_nullable(&self) -> bool {
        self.nullable && !self.pk
    }

    /// Types whose column fills itself (a sequence default), so adding one NOT NULL needs
    /// no `up` (pgroll's `HasImplicitDefault`, plus the `serialN` spellings).
    pub fn has_implicit_default(&self) -> bool {
        const SERIALS: &[&str] = &[
            "smallserial",
            "serial",
            "bigserial",
            "serial2",
            "serial4",
            "serial8",
        ];
        let t = self.data_type.trim();
        SERIALS.iter().any(|s| s.eq_ignore_ascii_case(t))
    }

    pub(crate) fn check(&self, path: &str, p: &mut Problems) {
        p.ident(&format!("{path}.name"), &self.name);
        p.sql(&format!("{path}.type"), &self.data_type);
        if let Some(c) = &self.check {
            c.check(&format!("{path}.check"), p);
        }
        if let Some(r) = &self.references {
            r.check(&format!("{path}.references"), p);
        }
        if let Some(g) = &self.generated {
            let field = format!("{path}.generated");
            match (given(&g.expression), &g.identity) {
                (Some(_), Some(_)) => p.add(format!(
                    "`{field}`: only one of `expression` and `identity` may be set"
                )),
                (None, None) => p.add(format!("`{field}` needs `expression` or `identity`")),
                _ => {}
            }
            if let Some(v) = g
                .identity
                .as_ref()
                .and_then(|i| given(&i.user_specified_values))
            {
                p.keyword(
                    &format!("{field}.identity.user_specified_values"),
                    v,
                    &["ALWAYS", "BY DEFAULT"],
                );
            }
            if self.default.is_some() {
                p.add(format!(
                    "`{path}`: a generated column cannot also have a `default`"
                ));
            }
        }
    }
}

impl CheckConstraint {
    pub(crate) fn check(&self, path: &str, p: &mut Problems) {
        p.ident(&format!("{path}.name"), &self.name);
        p.sql(&format!("{path}.constraint"), &self.constraint);
    }
}

impl UniqueConstraint {
    pub(crate) fn check(&self, path: &str, p: &mut Problems) {
        p.ident(&format!("{path}.name"), &self.name);
    }
}

/// `on_delete`, `on_update` and `match_type`, shared by both kinds of reference.
fn check_actions(
    path: &str,
    on_delete: &Option<String>,
    on_update: &Option<String>,
    match_type: &Option<String>,
    p: &mut Problems,
) {
    if let Some(a) = given(on_delete) {
        p.keyword(&format!("{path}.on_delete"), a, FOREIGN_KEY_ACTIONS);
    }
    if let Some(a) = given(on_update) {
        p.keyword(&format!("{path}.on_update"), a, FOREIGN_KEY_ACTIONS);
    }
    if let Some(m) = given(match_type) {
        p.keyword(&format!("{path}.match_type"), m, FOREIGN_KEY_MATCH_TYPES);
        if m.trim().eq_ignore_ascii_case("PARTIAL") {
            p.add(format!(
                "`{path}.match_type`: PostgreSQL does not implement MATCH PARTIAL"
            ));
        }
    }
}

impl ForeignKeyReference {
    pub(crate) fn check(&self, path: &str, p: &mut Problems) {
        p.ident(&format!("{path}.name"), &self.name);
        p.ident(&format!("{path}.table"), &self.table);
        p.ident(&format!("{path}.column"), &self.column);
        check_actions(path, &self.on_delete, &self.on_update, &self.match_type, p);
        if self.initially_deferred && !self.deferrable {
            p.add(format!(
                "`{path}`: `initially_deferred` needs `deferrable: true`"
            ));
        }
    }
}

impl TableForeignKeyReference {
    /// `columns`: the referencing columns of the enclosing constraint.
    pub(crate) fn check(&self, path: &str, columns: &[String], p: &mut Problems) {
        p.ident(&format!("{path}.table"), &self.table);
        if self.columns.is_empty() {
            p.add(format!("`{path}.columns` is empty"));
        } else if !columns.is_empty() && self.columns.len() != columns.len() {
            p.add(format!(
                "`{path}.columns` lists {} column(s) for {} referencing column(s)",
                self.columns.len(),
                columns.len()
            ));
        }
        p.idents(&format!("{path}.columns"), &self.columns);
        check_actions(path, &self.on_delete, &self.on_update, &self.match_type, p);
        if let Some(set) = self
            .on_delete_set_columns
            .as_ref()
            .filter(|s| !s.is_empty())
        {
            let action = given(&self.on_delete).unwrap_or("NO ACTION").trim();
            if !["SET NULL", "SET DEFAULT"]
                .iter()
                .any(|a| a.eq_ignore_ascii_case(action))
            {
                p.add(format!(
                    "`{path}.on_delete_set_columns` needs `on_delete` SET NULL or SET DEFAULT"
                ));
            }
            for c in set {
                if !columns.contains(c) {
                    p.add(format!(
                        "`{path}.on_delete_set_columns` names `{c}`, which is not one of the \
                         constraint's columns"
                    ));
                }
            }
        }
    }
}

impl IndexParameters {
    pub(crate) fn is_set(&self) -> bool {
        given(&self.tablespace).is_some()
            || given(&self.storage_parameters).is_some()
            || self.include_columns.as_ref().is_some_and(|c| !c.is_empty())
    }

    pub(crate) fn check(&self, path: &str, p: &mut Problems) {
        if let Some(t) = given(&self.tablespace) {
            p.ident(&format!("{path}.tablespace"), t);
        }
        if let Some(cols) = &self.include_columns {
            p.idents(&format!("{path}.include_columns"), cols);
        }
    }
}

impl TableConstraint {
    /// `table_columns`: the names of the columns the table is created with.
    pub(crate) fn check(&self, path: &str, table_columns: &[&str], p: &mut Problems) {
        p.ident(&format!("{path}.name"), &self.name);
        let ty = self.constraint_type.as_str();
        if !p.exact(&format!("{path}.type"), ty, TABLE_CONSTRAINT_TYPES) {
            return;
        }
        let a = match ty {
            "unique" => "a unique constraint",
            "check" => "a check constraint",
            "primary_key" => "a primary key",
            "foreign_key" => "a foreign key",
            _ => "an exclusion constraint",
        };
        let f = |field: &str| format!("{path}.{field}");
        if matches!(ty, "unique" | "primary_key" | "foreign_key") && self.columns.is_empty() {
            p.add(format!("`{}` is required for {a}", f("columns")));
        }
        p.idents(&f("columns"), &self.columns);
        p.no_duplicates(
            &format!("`{}`: column", f("columns")),
            self.columns.iter().map(String::as_str),
        );
        for c in &self.columns {
            if !c.is_empty() && !table_columns.contains(&c.as_str()) {
                p.add(format!(
                    "`{}` names `{c}`, which is not a column of this table",
                    f("columns")
                ));
            }
        }

        let check = given(&self.check);
        if ty == "check" && check.is_none() {
            p.add(format!(
                "`{}` (the expression) is required for {a}",
                f("check")
            ));
        }
        p.not_applicable(&f("check"), ty != "check" && check.is_some(), a);
        p.not_applicable(&f("no_inherit"), ty != "check" && self.no_inherit, a);

        if ty == "foreign_key" {
            match &self.references {
                Some(r) => r.check(&f("references"), &self.columns, p),
                None => p.add(format!("`{}` is required for {a}", f("references"))),
            }
        } else {
            p.not_applicable(&f("references"), self.references.is_some(), a);
        }

        if ty == "exclude" {
            match &self.exclude {
                Some(x) => p.sql(
                    &f("exclude.elements"),
                    x.elements.as_deref().unwrap_or_default(),
                ),
                None => p.add(format!("`{}` is required for {a}", f("exclude"))),
            }
            p.not_applicable(&f("columns"), !self.columns.is_empty(), a);
        } else {
            p.not_applicable(&f("exclude"), self.exclude.is_some(), a);
        }

        p.not_applicable(
            &f("nulls_not_distinct"),
            ty != "unique" && self.nulls_not_distinct,
            a,
        );
        if ty == "check" {
            p.not_applicable(
                &f("deferrable"),
                self.deferrable || self.initially_deferred,
                a,
            );
        } else if self.initially_deferred && !self.deferrable {
            p.add(format!(
                "`{path}`: `initially_deferred` needs `deferrable: true`"
            ));
        }
        match &self.index_parameters {
            Some(ip) if matches!(ty, "check" | "foreign_key") => {
                p.not_applicable(&f("index_parameters"), ip.is_set(), a)
            }
            Some(ip) => {
                ip.check(&f("index_parameters"), p);
                for c in ip.include_columns.iter().flatten() {
                    if !c.is_empty() && !table_columns.contains(&c.as_str()) {
                        p.add(format!(
                            "`{}` names `{c}`, which is not a column of this table",
                            f("index_parameters.include_columns")
                        ));
                    }
                }
            }
            None => {}
        }
    }
}
