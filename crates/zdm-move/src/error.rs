//! Errors of a move. Source and target errors keep their origin; value errors name the table,
//! the column and the row's key.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("source: {0}")]
    Source(#[from] zdm_mysql::Error),
    #[error("target: {}", zdm_pg::error::describe_pg_error(.0))]
    Target(#[from] tokio_postgres::Error),
    #[error("target: {0}")]
    Ledger(#[from] zdm_pg::Error),
    #[error("{table}.{column} (key {key}): {message}")]
    Value {
        table: String,
        column: String,
        key: String,
        message: String,
    },
    /// The request cannot be carried out as asked (bad plan, no job, wrong state).
    #[error("{0}")]
    Refused(String),
    /// The change stream met something it must not apply past (DDL, purged binlog).
    #[error("{0}")]
    Stopped(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
