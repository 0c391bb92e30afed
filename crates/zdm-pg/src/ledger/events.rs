//! The append-only audit log. Every event is written to `events` and also emitted through
//! `tracing`, so `--log-format json` streams the same story as JSON lines.

use super::Ledger;
use crate::error::Result;
use serde::Serialize;
use tokio_postgres::Client;
use zdm_core::state::Phase;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl EventLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub migration_id: Option<String>,
    pub phase: Phase,
    pub level: EventLevel,
    pub message: String,
    pub details: serde_json::Value,
}

impl NewEvent {
    pub fn new(
        migration_id: &str,
        phase: Phase,
        level: EventLevel,
        message: impl Into<String>,
    ) -> Self {
        NewEvent {
            migration_id: Some(migration_id.to_string()),
            phase,
            level,
            message: message.into(),
            details: serde_json::json!({}),
        }
    }

    /// An event about the ledger or runner rather than one migration.
    pub fn ledger(level: EventLevel, message: impl Into<String>) -> Self {
        NewEvent {
            migration_id: None,
            phase: Phase::Ledger,
            level,
            message: message.into(),
            details: serde_json::json!({}),
        }
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// A stored event.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: i64,
    pub migration_id: Option<String>,
    pub phase: String,
    pub level: String,
    pub message: String,
    pub details: serde_json::Value,
    pub db_user: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

pub(crate) fn emit(e: &NewEvent) {
    let id = e.migration_id.as_deref().unwrap_or("-");
    let phase = e.phase.as_str();
    let details = e.details.to_string();
    match e.level {
        EventLevel::Debug => tracing::debug!(migration = id, phase, details, "{}", e.message),
        EventLevel::Info => tracing::info!(migration = id, phase, details, "{}", e.message),
        EventLevel::Warn => tracing::warn!(migration = id, phase, details, "{}", e.message),
        EventLevel::Error => tracing::error!(migration = id, phase, details, "{}", e.message),
    }
}

impl Ledger {
    pub async fn event(&self, c: &Client, e: NewEvent) -> Result<()> {
        c.execute(
            &self.sql("INSERT INTO {s}.events (migration_id, phase, level, message, details) VALUES ($1, $2, $3, $4, $5)"),
            &[&e.migration_id, &e.phase.as_str(), &e.level.as_str(), &e.message, &e.details],
        )
        .await?;
        emit(&e);
        Ok(())
    }

    /// A lock-timeout retry: its event, and the migration's retry count (one statement, so the
    /// count and the log agree).
    pub async fn lock_retry(&self, c: &Client, e: NewEvent) -> Result<()> {
        c.execute(
            &self.sql(
                "WITH e AS (INSERT INTO {s}.events (migration_id, phase, level, message, details) \
                 VALUES ($1, $2, $3, $4, $5)) \
                 UPDATE {s}.migrations SET lock_retries = lock_retries + 1 WHERE id = $1",
            ),
            &[
                &e.migration_id,
                &e.phase.as_str(),
                &e.level.as_str(),
                &e.message,
                &e.details,
            ],
        )
        .await?;
        emit(&e);
        Ok(())
    }

    /// Events in order, optionally of one migration, the most recent `limit` of them.
    pub async fn events(
        &self,
        c: &Client,
        migration_id: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Vec<Event>> {
        let rows = c
            .query(
                &self.sql(
                    "SELECT * FROM (SELECT id, migration_id, phase, level, message, details, db_user, at \
                       FROM {s}.events WHERE $1::text IS NULL OR migration_id = $1 \
                      ORDER BY id DESC LIMIT $2) e ORDER BY id",
                ),
                &[&migration_id, &limit.unwrap_or(i64::MAX)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Event {
                id: r.get(0),
                migration_id: r.get(1),
                phase: r.get(2),
                level: r.get(3),
                message: r.get(4),
                details: r.get(5),
                db_user: r.get(6),
                at: r.get(7),
            })
            .collect())
    }
}
