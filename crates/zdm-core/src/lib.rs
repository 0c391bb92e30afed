//! zdm's database-independent core: what a migration *is* (files, checksums, pgroll-format
//! operations, plain SQL), how SQL text splits into statements, and the migration state machine.
//! Nothing here talks to a database, so everything here is unit-testable and shared by the
//! PostgreSQL executor, the planner and the linter.

pub mod format;
pub mod ident;
pub mod operations;
pub mod planner;
pub mod schema;
pub mod source;
pub mod sql;
pub mod state;
