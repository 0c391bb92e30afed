//! The table lock a planned step takes: a closed set of modes, and in words what it is taken on
//! and for how long. `zdm plan` prints it; the runner does not read it (PostgreSQL takes the
//! locks the statements need).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The strongest table lock of a step, under PostgreSQL's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockMode {
    /// No table lock that holds reads or writes back.
    None,
    /// Reads and writes go on (VALIDATE CONSTRAINT, CREATE INDEX CONCURRENTLY).
    ShareUpdateExclusive,
    /// Writes wait (CREATE TRIGGER, a foreign key on the referenced table).
    ShareRowExclusive,
    /// Reads and writes wait (most ALTER TABLE forms; brief when catalog-only).
    AccessExclusive,
    /// Raw SQL: whatever its statements take.
    AsTheSqlTakes,
}

impl LockMode {
    fn words(self) -> &'static str {
        match self {
            LockMode::None => "none",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
            LockMode::AsTheSqlTakes => "as the SQL takes",
        }
    }
}

/// A step's lock. Stored in the plan as its text (the form plans had before the mode was its
/// own field), so plans stored by earlier versions read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub struct Lock {
    pub mode: LockMode,
    /// On what and for how long, and any further lock ("public.users (catalog only, brief)").
    pub detail: String,
}

impl Lock {
    pub fn new(mode: LockMode, detail: impl Into<String>) -> Lock {
        Lock {
            mode,
            detail: detail.into(),
        }
    }

    pub fn none() -> Lock {
        Lock::new(LockMode::None, "")
    }

    /// The same lock, with more said after it ("…; no scan: the validated CHECK proves it").
    pub fn and(&self, more: impl fmt::Display) -> Lock {
        Lock::new(self.mode, format!("{}; {more}", self.detail))
    }
}

impl fmt::Display for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.mode, self.detail.is_empty()) {
            (mode, true) => f.write_str(mode.words()),
            (LockMode::None, false) => write!(f, "none: {}", self.detail),
            (LockMode::AsTheSqlTakes, false) => write!(f, "as the SQL takes ({})", self.detail),
            (mode, false) => write!(f, "{} on {}", mode.words(), self.detail),
        }
    }
}

impl From<Lock> for String {
    fn from(l: Lock) -> String {
        l.to_string()
    }
}

impl From<String> for Lock {
    fn from(text: String) -> Lock {
        if let Some(rest) = text.strip_prefix("none: ") {
            return Lock::new(LockMode::None, rest);
        }
        if text == "none" {
            return Lock::none();
        }
        if let Some(rest) = text
            .strip_prefix("as the SQL takes (")
            .and_then(|r| r.strip_suffix(')'))
        {
            return Lock::new(LockMode::AsTheSqlTakes, rest);
        }
        // Longest names first: "SHARE ROW EXCLUSIVE" must not read as a shorter mode.
        for mode in [
            LockMode::ShareUpdateExclusive,
            LockMode::ShareRowExclusive,
            LockMode::AccessExclusive,
        ] {
            if let Some(rest) = text.strip_prefix(&format!("{} on ", mode.words())) {
                return Lock::new(mode, rest);
            }
        }
        Lock::new(LockMode::AsTheSqlTakes, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_reads_back_as_the_same_lock() {
        for lock in [
            Lock::none(),
            Lock::new(LockMode::None, "the table is new"),
            Lock::new(LockMode::AccessExclusive, "public.t (catalog only, brief)")
                .and("no scan: the validated CHECK proves it"),
            Lock::new(LockMode::ShareRowExclusive, "public.a and public.b (brief)"),
            Lock::new(
                LockMode::ShareUpdateExclusive,
                "public.t (reads and writes continue)",
            ),
            Lock::new(LockMode::AsTheSqlTakes, "raw SQL: check it with `zdm lint`"),
        ] {
            assert_eq!(Lock::from(lock.to_string()), lock, "{lock}");
        }
        assert_eq!(
            Lock::new(LockMode::AccessExclusive, "public.t (brief)").to_string(),
            "ACCESS EXCLUSIVE on public.t (brief)"
        );
    }
}
