//! zdm's PostgreSQL side: connections ([`connect`]), the ledger and audit log ([`ledger`]), the
//! one-runner-at-a-time lock ([`runner_lock`]), lock-safe execution with retry ([`executor`]) and
//! the commands that apply, roll back and report on migrations ([`runner`]).

pub mod backfill;
pub mod catalog;
pub mod concurrent_index;
pub mod connect;
pub mod error;
pub mod executor;
pub mod failpoint;
pub mod ledger;
pub mod runner;
pub mod runner_lock;
pub mod throttle;
pub mod trace;

pub use connect::ConnectionSpec;
pub use error::{Error, Result};
pub use executor::LockPolicy;
pub use ledger::Ledger;
pub use runner::Session;
