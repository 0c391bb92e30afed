//! The library's error type. The CLI maps each variant to a documented exit code.

use crate::connect::ConnectError;
use crate::runner_lock::LockHolder;
use zdm_core::source::SourceErrors;
use zdm_core::state::Phase;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("database error: {0}")]
    Db(String),
    /// Migration files that do not parse or validate.
    #[error("{0}")]
    Source(#[from] SourceErrors),
    /// An operation that cannot apply to the database as it is (unknown table, existing column…).
    #[error("{0}")]
    Invalid(String),
    /// Applied files edited afterwards, or ledger rows whose file is gone.
    #[error("{0}")]
    Drift(String),
    #[error("another zdm runner holds the lock on ledger schema `{schema}`: {holder}")]
    Locked { schema: String, holder: LockHolder },
    #[error("migration {id} failed during {phase}: {message}")]
    MigrationFailed {
        id: String,
        phase: Phase,
        message: String,
    },
    #[error("ledger: {0}")]
    Ledger(String),
    /// A request that cannot be carried out as asked (e.g. rollback without a .down.sql).
    #[error("{0}")]
    Refused(String),
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        Error::Db(describe_pg_error(&e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// SQLSTATE of a server error, if it is one.
pub fn sqlstate(e: &tokio_postgres::Error) -> Option<&str> {
    e.as_db_error().map(|d| d.code().code())
}

/// A one-line description with SQLSTATE, detail and hint, which tokio-postgres' Display omits.
pub fn describe_pg_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                s.push_str(&format!("; detail: {d}"));
            }
            if let Some(h) = db.hint() {
                s.push_str(&format!("; hint: {h}"));
            }
            s
        }
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(inner) = src {
                s.push_str(&format!(": {inner}"));
                src = inner.source();
            }
            s
        }
    }
}
