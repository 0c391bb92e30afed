//! zdm's MySQL/MariaDB side: [`connect`] (source URLs, TLS, redaction), [`catalog`] (tables,
//! columns, keys from information_schema), [`binlog`] (the row-event stream a move follows), and
//! [`trace`], which runs DDL on a scratch database to learn
//! which algorithm (INSTANT, INPLACE, COPY) and lock level the server really uses, whether the
//! table was rebuilt, and (where performance_schema records them) the metadata locks taken.

pub mod binlog;
pub mod catalog;
pub mod connect;
pub mod trace;

pub use connect::SourceSpec;

/// Errors of the MySQL side; the URL's password never appears in them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("MySQL: {0}")]
    Db(String),
    #[error("invalid MySQL URL: {0}")]
    Url(String),
    /// The binlog file a position names is gone from the server.
    #[error("the source no longer has the binlog at {0} (purged): the changes since then are lost to zdm")]
    Purged(String),
}

impl From<mysql_async::Error> for Error {
    fn from(e: mysql_async::Error) -> Self {
        Error::Db(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
