//! The vocabulary of static validation: each operation describes its problems into a
//! [`Problems`] list, naming fields by their path in the file (`columns[1].references.table`)
//! so a message can be traced back without line numbers.

/// PostgreSQL's NAMEDATALEN - 1. Longer names are not rejected by PostgreSQL but silently
/// truncated (with a NOTICE), so two long names can collide and zdm's catalog lookups by the
/// written name would miss; pgroll rejects them too.
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// The problems found in one operation, in field order.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<String>);

impl Problems {
    pub fn add(&mut self, message: impl Into<String>) {
        self.0.push(message.into());
    }

    pub fn finish(self) -> Result<(), Vec<String>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }

    /// A name PostgreSQL will store as written: present, at most 63 bytes, no NUL.
    pub fn ident(&mut self, field: &str, value: &str) {
        if value.is_empty() {
            self.add(format!("`{field}` is empty"));
        } else if value.len() > MAX_IDENTIFIER_BYTES {
            self.add(format!(
                "`{field}` `{value}` is {} bytes long; PostgreSQL identifiers are at most \
                 {MAX_IDENTIFIER_BYTES} bytes (it would silently truncate the name)",
                value.len()
            ));
        } else if value.contains('\0') {
            self.add(format!("`{field}` contains a NUL character"));
        }
    }

    /// Every element of a list of names.
    pub fn idents<'a>(&mut self, field: &str, values: impl IntoIterator<Item = &'a String>) {
        for (i, v) in values.into_iter().enumerate() {
            self.ident(&format!("{field}[{i}]"), v);
        }
    }

    /// SQL text (an expression, a type, statements) that must say something.
    pub fn sql(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.add(format!("`{field}` is empty"));
        }
    }

    /// A keyword-like value from a closed set, compared case-insensitively because pgroll
    /// pastes these into SQL, where keywords are case-insensitive.
    pub fn keyword(&mut self, field: &str, value: &str, allowed: &[&str]) {
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(value.trim())) {
            self.add(format!(
                "`{field}` is `{value}`, expected one of {}",
                allowed.join(", ")
            ));
        }
    }

    /// A value from a closed set that pgroll compares exactly (constraint types).
    pub fn exact(&mut self, field: &str, value: &str, allowed: &[&str]) -> bool {
        let ok = allowed.contains(&value);
        if !ok {
            self.add(format!(
                "`{field}` is `{value}`, expected one of {}",
                allowed.join(", ")
            ));
        }
        ok
    }

    /// A field that must not be set in this context (`why` completes "… does not apply to").
    pub fn not_applicable(&mut self, field: &str, set: bool, why: &str) {
        if set {
            self.add(format!("`{field}` does not apply to {why}"));
        }
    }

    /// Names that must be unique within one list.
    pub fn no_duplicates<'a>(&mut self, what: &str, names: impl IntoIterator<Item = &'a str>) {
        let mut seen = std::collections::BTreeSet::new();
        let mut reported = std::collections::BTreeSet::new();
        for n in names {
            if !n.is_empty() && !seen.insert(n) && reported.insert(n) {
                self.add(format!("{what} `{n}` appears more than once"));
            }
        }
    }
}

/// Unset for pgroll: its optional strings default to "" and it treats "" as absent.
pub(crate) fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.trim().is_empty())
}
