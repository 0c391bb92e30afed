//! The "old version still in use" gate of `zdm complete`: the contract drops the old version's
//! schema, so completing while application sessions still read or write through it breaks
//! them. Evidence is sampled over a window: sessions holding locks on relations of the old
//! version schema (every statement through a view locks it for its transaction). Idle sessions
//! whose search path names the old schema hold no lock and are not seen; the window should
//! span the application's busiest query interval.

use super::Session;
use crate::error::{Error, Result};
use crate::ledger::{EventLevel, MigrationRecord, NewEvent};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use zdm_core::state::{MigrationState, Phase};

#[derive(Debug, Clone, Serialize)]
pub struct UseSeen {
    pub pid: i32,
    pub user: String,
    pub application: String,
    pub relations: Vec<String>,
}

/// The version schema the old application code uses while `r` is expanded: the one of the
/// operations migration `r` was started on top of (none for the first: the old code then uses
/// the tables themselves, which the new version's views lock too, so locks cannot tell them
/// apart).
fn old_version_schema<'a>(records: &'a [MigrationRecord], r: &MigrationRecord) -> Option<&'a str> {
    let parent = r.parent.as_deref()?;
    records
        .iter()
        .find(|p| p.id == parent)
        .and_then(|p| p.version_schema.as_deref())
}

/// How far back each kind of evidence is looked for (zero: not at all).
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    /// Sessions holding locks on the old version's views, sampled this long.
    pub locks: Duration,
    /// Writes through the old version the dual-write triggers noted this recently.
    pub writes: Duration,
}

/// Refuses (unless `force`) to complete the expanded migration while its old version is seen in
/// use: sessions holding locks on its views, or writes through it noted by the dual-write
/// triggers. The decision and its evidence go to the audit log either way.
pub async fn check_old_version_unused(
    session: &Session,
    id: Option<&str>,
    windows: Windows,
    force: bool,
) -> Result<()> {
    if session.ledger.version(&session.client).await?.is_none() {
        return Ok(());
    }
    let records = session.ledger.records(&session.client).await?;
    let Some(r) = records
        .iter()
        .find(|r| r.state == MigrationState::Expanded && id.is_none_or(|id| id == r.id))
    else {
        return Ok(());
    };
    let schema = old_version_schema(&records, r);
    let seen = match schema {
        Some(schema) if !windows.locks.is_zero() => sample(session, schema, windows.locks).await?,
        _ => Vec::new(),
    };
    let writes = if windows.writes.is_zero() {
        None
    } else {
        session
            .ledger
            .old_writes(&session.client, &r.id, windows.writes)
            .await?
    };
    if seen.is_empty() && writes.is_none() {
        return Ok(());
    }
    let mut evidence: Vec<String> = seen
        .iter()
        .map(|s| {
            format!(
                "pid {} ({}{}) on {}",
                s.pid,
                s.user,
                if s.application.is_empty() {
                    String::new()
                } else {
                    format!(", {}", s.application)
                },
                s.relations.join(", ")
            )
        })
        .collect();
    if let Some(w) = &writes {
        evidence.push(format!(
            "writes through it in the last {}s (last at {}, by {})",
            windows.writes.as_secs(),
            w.last_at.format("%H:%M:%S UTC"),
            w.last_by
        ));
    }
    let schema = schema.unwrap_or("none: the tables themselves");
    let message = if force {
        format!(
            "completing although the old version (schema {schema}) is in use (--force): {}",
            evidence.join("; ")
        )
    } else {
        format!(
            "refused to complete: the old version (schema {schema}) is still in use: {}",
            evidence.join("; ")
        )
    };
    session
        .ledger
        .event(
            &session.client,
            NewEvent::new(&r.id, Phase::Complete, EventLevel::Warn, message.clone()).details(
                serde_json::json!({ "old_version_schema": schema, "in_use": seen, "writes": writes, "forced": force }),
            ),
        )
        .await?;
    if force {
        return Ok(());
    }
    Err(Error::Refused(format!(
        "{message}. Complete once the old application code is gone, or pass --force"
    )))
}

/// Sessions other than this one holding locks on relations of `schema`, sampled every 100 ms.
async fn sample(session: &Session, schema: &str, window: Duration) -> Result<Vec<UseSeen>> {
    let deadline = Instant::now() + window;
    let mut seen: BTreeMap<i32, UseSeen> = BTreeMap::new();
    loop {
        let rows = session
            .client
            .query(
                "SELECT l.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''), c.relname::text \
                   FROM pg_locks l \
                   JOIN pg_class c ON c.oid = l.relation \
                   JOIN pg_namespace n ON n.oid = c.relnamespace \
                   LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
                  WHERE n.nspname = $1 AND l.pid <> pg_backend_pid() AND l.database = \
                        (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[&schema],
            )
            .await?;
        for row in rows {
            let pid: i32 = row.get(0);
            let e = seen.entry(pid).or_insert_with(|| UseSeen {
                pid,
                user: row.get(1),
                application: row.get(2),
                relations: Vec::new(),
            });
            let rel: String = row.get(3);
            if !e.relations.contains(&rel) {
                e.relations.push(rel);
            }
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(seen.into_values().collect())
}
