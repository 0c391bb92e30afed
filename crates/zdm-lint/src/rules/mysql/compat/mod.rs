//! The expand/contract (`compat-*`) rules for MySQL/MariaDB, one per file. Same ids as the
//! PostgreSQL ones: the hazard (running code breaks) is the same.

mod drop_column;
mod drop_constraint;
mod drop_database;
mod drop_not_null;
mod drop_other;
mod drop_table;
mod rename_column;
mod rename_table;

pub(crate) use drop_column::{check as drop_column, RULE as DROP_COLUMN};
pub(crate) use drop_constraint::{check as drop_constraint, RULE as DROP_CONSTRAINT};
pub(crate) use drop_database::{check as drop_database, RULE as DROP_DATABASE};
pub(crate) use drop_not_null::{check as drop_not_null, RULE as DROP_NOT_NULL};
pub(crate) use drop_other::{check as drop_other, RULE as DROP_OTHER};
pub(crate) use drop_table::{check as drop_table, RULE as DROP_TABLE};
pub(crate) use rename_column::{check as rename_column, RULE as RENAME_COLUMN};
pub(crate) use rename_table::{check as rename_table, RULE as RENAME_TABLE};
