//! One runner at a time: a session-level advisory lock keyed on the ledger schema. It is taken
//! with `pg_try_advisory_lock`, never queued for, so a second runner fails within a second and
//! says who holds the lock. The server releases it when the holder's session ends, including on kill -9.

use crate::error::{Error, Result};
use serde::Serialize;
use std::fmt;
use tokio_postgres::Client;

/// First half of the two-part advisory lock key: "zdM" in ASCII, so zdm's locks are easy to spot
/// in `pg_locks` (classid 8021069); the second half is `hashtext(<ledger schema>)`.
pub const LOCK_CLASS: i32 = 0x7A_64_4D;

#[derive(Debug, Clone, Serialize)]
pub struct LockHolder {
    pub pid: i32,
    pub host: String,
    pub application: String,
    pub since: chrono::DateTime<chrono::Utc>,
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "backend pid {} from {} ({}), connected since {}",
            self.pid,
            self.host,
            self.application,
            self.since.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

/// How long a held lock is tried again before it counts as held. A runner that has just exited
/// still holds the lock until its backend notices the closed connection (a few milliseconds,
/// more on a loaded server): `zdm repair && zdm migrate` must not see a phantom second runner.
const RELEASE_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Take the runner lock on `client`'s session or fail with [`Error::Locked`].
pub async fn acquire(client: &Client, schema: &str) -> Result<()> {
    let deadline = std::time::Instant::now() + RELEASE_GRACE;
    loop {
        match try_acquire(client, schema).await {
            Err(Error::Locked { .. }) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await
            }
            outcome => return outcome,
        }
    }
}

async fn try_acquire(client: &Client, schema: &str) -> Result<()> {
    let got: bool = client
        .query_one(
            "SELECT pg_try_advisory_lock($1, hashtext($2))",
            &[&LOCK_CLASS, &schema],
        )
        .await?
        .get(0);
    if got {
        return Ok(());
    }
    match holder(client, schema).await? {
        Some(holder) => Err(Error::Locked {
            schema: schema.to_string(),
            holder,
        }),
        // Released between the two queries: try once more rather than report a phantom.
        None => {
            let got: bool = client
                .query_one(
                    "SELECT pg_try_advisory_lock($1, hashtext($2))",
                    &[&LOCK_CLASS, &schema],
                )
                .await?
                .get(0);
            if got {
                Ok(())
            } else {
                Err(Error::Ledger(
                    "runner lock is held but its holder could not be identified".into(),
                ))
            }
        }
    }
}

pub async fn release(client: &Client, schema: &str) -> Result<()> {
    client
        .execute(
            "SELECT pg_advisory_unlock($1, hashtext($2))",
            &[&LOCK_CLASS, &schema],
        )
        .await?;
    Ok(())
}

/// Who holds the runner lock of `schema`, if anyone.
pub async fn holder(client: &Client, schema: &str) -> Result<Option<LockHolder>> {
    let row = client
        .query_opt(
            "SELECT a.pid, coalesce(a.client_hostname, host(a.client_addr), 'local socket'), \
                    coalesce(a.application_name, ''), a.backend_start \
               FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
              WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 \
                AND l.classid = $1::int4::oid AND l.objid = hashtext($2)::oid \
                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
              LIMIT 1",
            &[&LOCK_CLASS, &schema],
        )
        .await?;
    Ok(row.map(|r| LockHolder {
        pid: r.get(0),
        host: r.get(1),
        application: r.get(2),
        since: r.get(3),
    }))
}
