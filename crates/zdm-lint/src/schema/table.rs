//! Tables, columns, constraints and indexes of the replayed catalog.

use super::{QName, TypeName};

#[derive(Debug, Clone, Default)]
pub struct Table {
    pub name: QName,
    pub columns: Vec<Column>,
    pub constraints: Vec<Constraint>,
    /// File generation that created the table (see `Schema::is_new`).
    pub(crate) created_in: u64,
    /// MySQL: `ROW_FORMAT=COMPRESSED` (no INSTANT ADD COLUMN).
    pub compressed: bool,
    /// MySQL: the table has a FULLTEXT index (no INSTANT ADD COLUMN: FTS_DOC_ID).
    pub has_fulltext: bool,
    /// MySQL: instant ADD/DROP COLUMNs so far (the row-version counter).
    pub instant_changes: u32,
}

impl Default for QName {
    fn default() -> Self {
        QName::bare("")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: Option<TypeName>,
    pub not_null: bool,
    pub default: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConKind {
    PrimaryKey,
    Unique,
    Check,
    ForeignKey,
    Exclude,
    NotNull,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    pub name: Option<String>,
    pub kind: ConKind,
    pub columns: Vec<String>,
    pub ref_table: Option<QName>,
    /// Lower-cased CHECK expression text, to find the columns it mentions.
    pub expr: Option<String>,
    pub not_valid: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    /// (schema, table) key of the indexed table.
    pub table: (String, String),
    /// Column names; an expression is kept as its text in parentheses.
    pub columns: Vec<String>,
    pub unique: bool,
    pub partial: bool,
    pub fulltext: bool,
}

impl Table {
    /// Whether the replayed migrations created this table (so its indexes and constraints
    /// are all known), rather than only altering a table that predates them.
    pub fn replayed(&self) -> bool {
        self.created_in > 0
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn column_mut(&mut self, name: &str) -> Option<&mut Column> {
        self.columns.iter_mut().find(|c| c.name == name)
    }

    pub fn drop_column(&mut self, name: &str) {
        self.columns.retain(|c| c.name != name);
        self.constraints
            .retain(|c| !c.columns.iter().any(|x| x == name));
    }

    pub fn constraint(&self, name: &str) -> Option<&Constraint> {
        self.constraints
            .iter()
            .find(|c| c.name.as_deref() == Some(name))
    }

    /// CHECK constraints whose expression mentions `column`.
    pub fn checks_on(&self, column: &str) -> Vec<&Constraint> {
        self.constraints
            .iter()
            .filter(|c| c.kind == ConKind::Check)
            .filter(|c| {
                c.columns.iter().any(|x| x == column)
                    || c.expr.as_deref().is_some_and(|e| mentions_word(e, column))
            })
            .collect()
    }
}

/// Whether `word` appears in `text` as a whole identifier.
pub(crate) fn mentions_word(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}
