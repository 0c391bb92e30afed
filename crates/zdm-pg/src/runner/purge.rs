//! `zdm purge --older-than <duration>`: drop what completed migrations archived instead of
//! dropping (columns renamed `_zdm_archived_<tag>_<name>`, tables moved to `<ledger>_archive`),
//! once the migration completed longer ago than the given duration.

use super::Session;
use crate::error::{Error, Result};
use crate::executor::{with_lock_retry, RetryError, RetryLog};
use crate::ledger::{EventLevel, NewEvent};
use serde::Serialize;
use std::time::Duration;
use zdm_core::ident::{quote_ident, quote_qualified};
use zdm_core::planner::ops::archive_schema;
use zdm_core::planner::triggers::migration_tag;
use zdm_core::state::{MigrationState, Phase};

#[derive(Debug, Clone, Serialize)]
pub struct Purged {
    pub migration: String,
    /// `schema.table` or `schema.table.column`.
    pub object: String,
}

fn like_prefix(prefix: &str) -> String {
    prefix
        .replace('\\', "\\\\")
        .replace('_', "\\_")
        .replace('%', "\\%")
        + "%"
}

/// Drop archives of migrations completed more than `older_than` ago. With `dry_run`, only list.
pub async fn purge(
    session: &mut Session,
    target_schema: &str,
    older_than: Duration,
    dry_run: bool,
) -> Result<Vec<Purged>> {
    session.lock_for_writing().await?;
    let c = &session.client;
    let cutoff = chrono::Utc::now()
        - chrono::Duration::from_std(older_than).map_err(|e| Error::Refused(e.to_string()))?;
    let archive = archive_schema(session.ledger.schema());
    let mut found: Vec<(String, String, String)> = Vec::new();
    for r in session.ledger.records(c).await? {
        if r.kind != "operations"
            || r.state != MigrationState::Completed
            || r.completed_at.is_none_or(|t| t > cutoff)
        {
            continue;
        }
        let tag = migration_tag(&r.id);
        let columns = c
            .query(
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                  WHERE table_schema = $1 AND column_name LIKE $2",
                &[
                    &target_schema,
                    &like_prefix(&format!("_zdm_archived_{tag}_")),
                ],
            )
            .await?;
        for row in columns {
            let (table, column): (String, String) = (row.get(0), row.get(1));
            found.push((
                r.id.clone(),
                format!("{target_schema}.{table}.{column}"),
                format!(
                    "ALTER TABLE {} DROP COLUMN IF EXISTS {}",
                    quote_qualified(target_schema, &table),
                    quote_ident(&column)
                ),
            ));
        }
        let tables = c
            .query(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = $1 AND tablename LIKE $2",
                &[&archive, &like_prefix(&format!("{tag}_"))],
            )
            .await?;
        for row in tables {
            let table: String = row.get(0);
            found.push((
                r.id.clone(),
                format!("{archive}.{table}"),
                format!("DROP TABLE IF EXISTS {}", quote_qualified(&archive, &table)),
            ));
        }
    }
    let mut purged = Vec::new();
    for (migration, object, sql) in found {
        if !dry_run {
            let log = RetryLog {
                ledger: &session.ledger,
                client: c,
                migration_id: &migration,
                phase: Phase::Ledger,
            };
            match with_lock_retry(&session.policy, &log, "purge", || c.batch_execute(&sql)).await {
                Ok(()) => {}
                Err(RetryError::Ledger(e)) => return Err(e),
                Err(RetryError::Failed(e)) | Err(RetryError::Exhausted { last: e, .. }) => {
                    return Err(e.into())
                }
            }
            let event = NewEvent::new(
                &migration,
                Phase::Ledger,
                EventLevel::Info,
                format!("purged archived {object}"),
            );
            session.ledger.event(c, event).await?;
        }
        purged.push(Purged { migration, object });
    }
    Ok(purged)
}
