//! An in-memory catalog replayed from the statements the linter has seen: the earlier files
//! of the migration directory, then the earlier statements of the current file. Verdicts that
//! depend on facts (is this table new? what is the column's current type? is there an index
//! leading with the FK columns?) ask it. Without a fact the rules assume the risky case.

mod table;
mod types;

pub use table::{Column, ConKind, Constraint, Index, Table};
pub use types::TypeName;

use std::collections::BTreeMap;
use std::fmt;

/// A possibly schema-qualified object name, normalised (unquoted identifiers lower-cased on
/// PostgreSQL, kept as written on MySQL).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QName {
    pub schema: Option<String>,
    pub name: String,
}

impl QName {
    pub fn new(schema: Option<&str>, name: &str) -> Self {
        QName {
            schema: schema.map(str::to_string),
            name: name.to_string(),
        }
    }

    pub fn bare(name: &str) -> Self {
        QName::new(None, name)
    }

    /// The name for PostgreSQL SQL, quoted where needed.
    pub fn pg(&self) -> String {
        match &self.schema {
            Some(s) => format!("{}.{}", pg_ident(s), pg_ident(&self.name)),
            None => pg_ident(&self.name),
        }
    }

    /// The name for MySQL SQL, backtick-quoted where needed.
    pub fn my(&self) -> String {
        match &self.schema {
            Some(s) => format!("{}.{}", my_ident(s), my_ident(&self.name)),
            None => my_ident(&self.name),
        }
    }
}

impl fmt::Display for QName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Quotes a PostgreSQL identifier unless it is a plain lower-case name that is not reserved.
pub fn pg_ident(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !PG_RESERVED.contains(&name);
    if plain {
        name.to_string()
    } else {
        zdm_core::ident::quote_ident(name)
    }
}

/// Quotes a MySQL identifier unless it is plain.
pub fn my_ident(name: &str) -> String {
    let plain = !name.is_empty()
        && !name.chars().next().is_some_and(|c| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && !MY_RESERVED.contains(&name.to_ascii_lowercase().as_str());
    if plain {
        name.to_string()
    } else {
        format!("`{}`", name.replace('`', "``"))
    }
}

// The reserved words most likely to appear as names; quoting others is harmless but noisy.
const PG_RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "default",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "into",
    "leading",
    "limit",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "primary",
    "references",
    "select",
    "table",
    "then",
    "to",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "when",
    "where",
    "with",
    "window",
];
const MY_RESERVED: &[&str] = &[
    "add",
    "all",
    "alter",
    "and",
    "as",
    "by",
    "change",
    "check",
    "column",
    "constraint",
    "create",
    "default",
    "delete",
    "desc",
    "drop",
    "foreign",
    "from",
    "group",
    "index",
    "insert",
    "interval",
    "key",
    "keys",
    "like",
    "lock",
    "match",
    "not",
    "null",
    "on",
    "or",
    "order",
    "primary",
    "range",
    "references",
    "rename",
    "select",
    "set",
    "table",
    "to",
    "unique",
    "update",
    "usage",
    "where",
    "with",
];

/// The catalog. `default_schema` fills in unqualified names (`public` on PostgreSQL).
#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub default_schema: String,
    tables: BTreeMap<(String, String), Table>,
    indexes: BTreeMap<(String, String), Index>,
    /// Functions created by the migrations: name → VOLATILE?
    functions: BTreeMap<String, bool>,
    /// Counts files, so a table can tell whether the current file created it.
    file_generation: u64,
    /// Whether the current file runs in one transaction (then everything is new until commit).
    pub current_file: String,
}

impl Schema {
    pub fn postgres() -> Self {
        Schema {
            default_schema: "public".into(),
            ..Schema::default()
        }
    }

    pub fn mysql() -> Self {
        Schema {
            default_schema: String::new(),
            ..Schema::default()
        }
    }

    fn key(&self, q: &QName) -> (String, String) {
        (
            q.schema
                .clone()
                .unwrap_or_else(|| self.default_schema.clone()),
            q.name.clone(),
        )
    }

    /// Starts a new file: tables created from now on are "new in this file".
    pub fn begin_file(&mut self, file: &str) {
        self.file_generation += 1;
        self.current_file = file.to_string();
    }

    pub fn table(&self, q: &QName) -> Option<&Table> {
        self.tables.get(&self.key(q))
    }

    pub fn table_mut(&mut self, q: &QName) -> Option<&mut Table> {
        let k = self.key(q);
        self.tables.get_mut(&k)
    }

    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.tables.values()
    }

    /// Whether `q` was created by the current file (then it is empty and nobody else uses it,
    /// so lock and rewrite rules do not apply).
    pub fn is_new(&self, q: &QName) -> bool {
        self.table(q)
            .is_some_and(|t| t.created_in == self.file_generation)
    }

    /// Records `q` as a table that existed before any replayed migration (a table the
    /// migrations alter without having created it), so facts about it can accumulate.
    pub fn ensure_table(&mut self, q: &QName) {
        let k = self.key(q);
        let name = QName::new(Some(&k.0), &k.1);
        self.tables.entry(k).or_insert_with(|| Table {
            name,
            created_in: 0,
            ..Table::default()
        });
    }

    pub fn create_table(&mut self, q: &QName, mut table: Table) {
        table.created_in = self.file_generation;
        let k = self.key(q);
        table.name = QName::new(Some(&k.0), &k.1);
        self.tables.insert(k, table);
    }

    pub fn drop_table(&mut self, q: &QName) {
        let k = self.key(q);
        self.tables.remove(&k);
        self.indexes.retain(|_, i| i.table != k);
    }

    pub fn rename_table(&mut self, q: &QName, to: &str) {
        let k = self.key(q);
        if let Some(mut t) = self.tables.remove(&k) {
            let nk = (k.0.clone(), to.to_string());
            t.name = QName::new(Some(&nk.0), &nk.1);
            for i in self.indexes.values_mut().filter(|i| i.table == k) {
                i.table = nk.clone();
            }
            self.tables.insert(nk, t);
        }
    }

    /// Records a function defined by a migration and whether it is VOLATILE.
    pub fn define_function(&mut self, name: &str, volatile: bool) {
        self.functions.insert(name.to_string(), volatile);
    }

    /// Whether a function the migrations defined is VOLATILE (None: not defined by them).
    pub fn function_volatile(&self, name: &str) -> Option<bool> {
        self.functions.get(name).copied()
    }

    pub fn add_index(&mut self, name: &QName, index: Index) {
        let mut k = self.key(name);
        // An index lives in its table's schema.
        k.0 = index.table.0.clone();
        self.indexes.insert(k, index);
    }

    /// The index `name`; an unqualified name is looked up in any schema.
    pub fn index(&self, name: &QName) -> Option<&Index> {
        match &name.schema {
            Some(_) => self.indexes.get(&self.key(name)),
            None => self.indexes.get(&self.key(name)).or_else(|| {
                self.indexes
                    .iter()
                    .find(|(k, _)| k.1 == name.name)
                    .map(|(_, v)| v)
            }),
        }
    }

    pub fn drop_index(&mut self, name: &QName) -> Option<Index> {
        let k = match &name.schema {
            Some(_) => Some(self.key(name)),
            None => {
                let k = self.key(name);
                if self.indexes.contains_key(&k) {
                    Some(k)
                } else {
                    self.indexes.keys().find(|k| k.1 == name.name).cloned()
                }
            }
        };
        k.and_then(|k| self.indexes.remove(&k))
    }

    /// Indexes on table `q`.
    pub fn indexes_on(&self, q: &QName) -> impl Iterator<Item = &Index> {
        let k = self.key(q);
        self.indexes.values().filter(move |i| i.table == k)
    }

    /// Whether an index (or a PRIMARY KEY / UNIQUE constraint) on `q` leads with `columns`
    /// (in any order among the leading ones), is not partial and is not an expression index.
    pub fn has_leading_index(&self, q: &QName, columns: &[String]) -> bool {
        let covers = |idx_cols: &[String]| {
            idx_cols.len() >= columns.len()
                && columns
                    .iter()
                    .all(|c| idx_cols[..columns.len()].contains(c))
        };
        self.indexes_on(q).any(|i| !i.partial && covers(&i.columns))
            || self.table(q).is_some_and(|t| {
                t.constraints.iter().any(|c| {
                    matches!(c.kind, ConKind::PrimaryKey | ConKind::Unique) && covers(&c.columns)
                })
            })
    }
}
