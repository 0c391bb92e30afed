//! Observability over the ledger: what `zdm serve` and `--metrics-listen` expose.
pub mod health;
pub mod metrics;
pub mod server;
pub mod snapshot;
