//! The commands that write (migrate, rollback, baseline, repair) and the ones that report
//! (status, validate). They run on a [`Session`]: one connection with `lock_timeout` set, which
//! holds the runner lock for writing commands.

pub mod baseline;
pub mod drift;
pub mod in_use;
pub mod migrate;
pub mod operations;
pub mod purge;
pub mod rollback;
pub mod sql_apply;
pub mod status;
pub mod steps;

use crate::connect::ConnectionSpec;
use crate::error::Result;
use crate::executor::LockPolicy;
use crate::ledger::{InitOutcome, Ledger};
use crate::runner_lock;
use tokio_postgres::Client;

pub struct Session {
    pub client: Client,
    pub ledger: Ledger,
    pub policy: LockPolicy,
    locked: bool,
}

impl Session {
    /// Connect and set the session's lock timeout. `command` names the session in
    /// `pg_stat_activity` (`zdm <command>@<host>`), which is what a second runner is told.
    pub async fn open(
        spec: &ConnectionSpec,
        schema: &str,
        policy: LockPolicy,
        command: &str,
    ) -> Result<Session> {
        let app = format!("zdm {command}@{}", crate::ledger::transitions::host_name());
        let app: String = app.chars().take(63).collect();
        let client = spec.connect(&app).await?;
        policy.apply_to_session(&client).await?;
        // Let the server notice a dead zdm (kill -9, lost network) within a second even while a
        // statement runs, so its runner lock and transaction go away and the run shows as
        // interrupted. PostgreSQL 14+; older servers ignore the failure.
        let _ = client
            .batch_execute("SET client_connection_check_interval = '1s'")
            .await;
        // Index builds (CREATE INDEX CONCURRENTLY of helper columns) on one worker: a parallel
        // build takes every core and stalls the application's statements meanwhile.
        let _ = client
            .batch_execute("SET max_parallel_maintenance_workers = 0")
            .await;
        Ok(Session {
            client,
            ledger: Ledger::new(schema),
            policy,
            locked: false,
        })
    }

    /// Take the runner lock (failing at once if another runner has it), then create or upgrade
    /// the ledger. Every writing command starts here.
    pub async fn lock_for_writing(&mut self) -> Result<InitOutcome> {
        if !self.locked {
            runner_lock::acquire(&self.client, self.ledger.schema()).await?;
            self.locked = true;
        }
        self.ledger.init(&self.client).await
    }

    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// Release the lock explicitly (ending the session releases it too).
    pub async fn unlock(&mut self) -> Result<()> {
        if self.locked {
            runner_lock::release(&self.client, self.ledger.schema()).await?;
            self.locked = false;
        }
        Ok(())
    }
}
