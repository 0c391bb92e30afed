//! `create_index`: built concurrently at start, so writes continue.

use super::check::{given, Problems};
use super::common::is_false;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// pgroll's index methods. PostgreSQL extensions add others (hnsw, ivfflat, bloom), which zdm
/// passes through; these are the ones whose limits it knows.
pub const INDEX_METHODS: &[&str] = &["btree", "hash", "gist", "spgist", "gin", "brin"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateIndex {
    /// Index names are schema-wide in PostgreSQL.
    pub name: String,
    pub table: String,
    pub columns: Vec<IndexColumn>,
    /// `WHERE` condition of a partial index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
    /// `USING` method; btree when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// `WITH (...)` contents, e.g. `fillfactor = 70`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_parameters: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
}

/// One element of an index. pgroll writes `{column: name, ...settings}`; before pgroll 0.10 it
/// was a bare column name, which zdm still reads (and writes back as such).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum IndexColumn {
    Name(String),
    Field(IndexField),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexField {
    pub column: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collate: Option<String>,
    /// `ASC` or `DESC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    /// `FIRST` or `LAST`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nulls: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opclass: Option<OpClass>,
}

/// An operator class, e.g. `text_pattern_ops`, with optional parameters (`siglen=32`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpClass {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<String>,
}

impl IndexColumn {
    pub fn column(&self) -> &str {
        match self {
            Self::Name(n) => n,
            Self::Field(f) => &f.column,
        }
    }
}

/// By hand rather than `#[serde(untagged)]`: untagged buffers the value and loses both the
/// position and the cause of an error ("data did not match any variant"), whereas dispatching
/// on the value's shape lets an unknown or missing field inside the mapping surface as itself,
/// at its own line and column.
impl<'de> Deserialize<'de> for IndexColumn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ColumnVisitor;

        impl<'de> Visitor<'de> for ColumnVisitor {
            type Value = IndexColumn;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an index column: a mapping with `column` (and collate, sort, nulls, opclass)",
                )
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<IndexColumn, E> {
                Ok(IndexColumn::Name(v.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<IndexColumn, A::Error> {
                IndexField::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(IndexColumn::Field)
            }
        }

        d.deserialize_any(ColumnVisitor)
    }
}

impl CreateIndex {
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut p = Problems::default();
        p.ident("name", &self.name);
        p.ident("table", &self.table);
        if self.columns.is_empty() {
            p.add("`columns` is empty: an index needs at least one column");
        }
        for (i, c) in self.columns.iter().enumerate() {
            let path = format!("columns[{i}]");
            let IndexColumn::Field(f) = c else {
                p.ident(&path, c.column());
                continue;
            };
            p.ident(&format!("{path}.column"), &f.column);
            if let Some(s) = given(&f.sort) {
                p.keyword(&format!("{path}.sort"), s, &["ASC", "DESC"]);
            }
            if let Some(n) = given(&f.nulls) {
                p.keyword(&format!("{path}.nulls"), n, &["FIRST", "LAST"]);
            }
            if let Some(o) = &f.opclass {
                if o.name.trim().is_empty() && !o.params.is_empty() {
                    p.add(format!(
                        "`{path}.opclass.params` without `{path}.opclass.name`"
                    ));
                }
            }
        }
        if let Some(m) = given(&self.method) {
            let m = m.trim();
            if !m.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                p.add(format!(
                    "`method` `{m}` is not an index method name (expected one of {})",
                    INDEX_METHODS.join(", ")
                ));
            } else if self.unique && !m.eq_ignore_ascii_case("btree") {
                p.add(format!(
                    "`unique` needs the btree method: PostgreSQL builds unique indexes only with \
                     btree, not `{m}`"
                ));
            } else if m.eq_ignore_ascii_case("hash") && self.columns.len() > 1 {
                p.add("a hash index has exactly one column");
            }
        }
        p.finish()
    }
}
