//! Values on their way from MySQL to PostgreSQL.

pub mod convert;
pub mod pg;

pub use convert::{to_pg, ConvertOptions, Origin, ValueError};
pub use pg::PgValue;
