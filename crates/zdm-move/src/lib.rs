//! `zdm move`: moving a live MySQL/MariaDB database into PostgreSQL.
//!
//! - [`convert`]: source catalog → PostgreSQL plan (type rules as data, cast file, DDL).
//! - [`value`]: source values → PostgreSQL binary values, the one conversion both the copy and
//!   the change stream use.
//! - [`job`]: the job's state in the target's ledger (tables, chunks and their claims, position).
//! - [`copy`]: chunked parallel snapshot copy with binary COPY, chunk claims with leases.
//! - [`follow`]: the binlog applier, position stored in the same transaction as the changes.

pub mod convert;
pub mod copy;
pub mod error;
pub mod follow;
pub mod job;
pub mod key;
pub mod repair;
pub mod run;
pub mod target;
pub mod value;
