//! The ledger: zdm's record, inside the target database, of every migration (`migrations`), an
//! append-only audit log (`events`) and its own version (`ledger_version`). Reading is free;
//! state changes go through [`transitions`] only.

pub mod events;
pub mod figures;
pub mod schema;
pub mod transitions;
pub mod usage;

use crate::error::{Error, Result};
use serde::Serialize;
use tokio_postgres::{Client, Row};
use zdm_core::ident::quote_ident;
use zdm_core::state::MigrationState;

pub use events::{Event, EventLevel, NewEvent};

/// Handle on the ledger in one schema. Cheap to clone; holds no connection.
#[derive(Debug, Clone)]
pub struct Ledger {
    schema: String,
    quoted: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum InitOutcome {
    Created { version: i32 },
    Upgraded { from: i32, to: i32 },
    UpToDate { version: i32 },
}

/// One row of `migrations`.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationRecord {
    pub id: String,
    pub seq: i64,
    pub checksum: String,
    pub kind: String,
    pub state: MigrationState,
    pub failed_phase: Option<String>,
    pub resumable: Option<bool>,
    pub migration: serde_json::Value,
    pub parent: Option<String>,
    pub version_schema: Option<String>,
    pub baselined: bool,
    pub progress: serde_json::Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub expanded_at: Option<chrono::DateTime<chrono::Utc>>,
    pub completing_at: Option<chrono::DateTime<chrono::Utc>>,
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub rolling_back_at: Option<chrono::DateTime<chrono::Utc>>,
    pub rolled_back_at: Option<chrono::DateTime<chrono::Utc>>,
    pub failed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub duration_ms: Option<i64>,
    pub applied_by_user: String,
    pub applied_by_host: Option<String>,
    pub zdm_version: Option<String>,
    pub last_error: Option<String>,
}

const RECORD_COLUMNS: &str = "id, seq, checksum, kind, state, failed_phase, resumable, migration, parent, \
    version_schema, baselined, progress, created_at, started_at, expanded_at, completing_at, completed_at, \
    rolling_back_at, rolled_back_at, failed_at, duration_ms, applied_by_user, applied_by_host, zdm_version, last_error";

impl MigrationRecord {
    fn from_row(r: &Row) -> Result<Self> {
        let state: String = r.get("state");
        Ok(MigrationRecord {
            id: r.get("id"),
            seq: r.get("seq"),
            checksum: r.get("checksum"),
            kind: r.get("kind"),
            state: state.parse().map_err(Error::Ledger)?,
            failed_phase: r.get("failed_phase"),
            resumable: r.get("resumable"),
            migration: r.get("migration"),
            parent: r.get("parent"),
            version_schema: r.get("version_schema"),
            baselined: r.get("baselined"),
            progress: r.get("progress"),
            created_at: r.get("created_at"),
            started_at: r.get("started_at"),
            expanded_at: r.get("expanded_at"),
            completing_at: r.get("completing_at"),
            completed_at: r.get("completed_at"),
            rolling_back_at: r.get("rolling_back_at"),
            rolled_back_at: r.get("rolled_back_at"),
            failed_at: r.get("failed_at"),
            duration_ms: r.get("duration_ms"),
            applied_by_user: r.get("applied_by_user"),
            applied_by_host: r.get("applied_by_host"),
            zdm_version: r.get("zdm_version"),
            last_error: r.get("last_error"),
        })
    }
}

impl Ledger {
    pub fn new(schema: &str) -> Self {
        Ledger {
            schema: schema.to_string(),
            quoted: quote_ident(schema),
        }
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// `{s}` in a SQL template replaced by the quoted schema name.
    pub fn sql(&self, template: &str) -> String {
        template.replace("{s}", &self.quoted)
    }

    pub async fn exists(&self, c: &Client) -> Result<bool> {
        let row = c
            .query_one(
                "SELECT to_regclass(format('%I.ledger_version', $1::text)) IS NOT NULL",
                &[&self.schema],
            )
            .await?;
        Ok(row.get(0))
    }

    /// The ledger version of this database, or None when there is no ledger.
    pub async fn version(&self, c: &Client) -> Result<Option<i32>> {
        if !self.exists(c).await? {
            return Ok(None);
        }
        let row = c
            .query_opt(&self.sql("SELECT version FROM {s}.ledger_version"), &[])
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Create or upgrade the ledger to the latest version. Idempotent. Callers hold the runner lock,
    /// so two inits never race.
    pub async fn init(&self, c: &Client) -> Result<InitOutcome> {
        self.init_to(c, schema::LATEST).await
    }

    /// Create or upgrade the ledger up to `target` (tests use it to build an older ledger).
    pub async fn init_to(&self, c: &Client, target: i32) -> Result<InitOutcome> {
        let current = self.version(c).await?;
        if let Some(v) = current {
            if v > schema::LATEST {
                return Err(Error::Ledger(format!(
                    "ledger schema `{}` is at version {v}, written by a newer zdm; this zdm {} knows up to {}",
                    self.schema,
                    env!("CARGO_PKG_VERSION"),
                    schema::LATEST
                )));
            }
            if v >= target {
                return Ok(InitOutcome::UpToDate { version: v });
            }
        }
        let from = current.unwrap_or(0);
        for (i, step) in schema::STEPS
            .iter()
            .enumerate()
            .take(target as usize)
            .skip(from as usize)
        {
            let version = i as i32 + 1;
            let mut script = String::from("BEGIN;\n");
            if version == 1 {
                script.push_str(&self.sql("CREATE SCHEMA IF NOT EXISTS {s};\n"));
                script.push_str(&self.sql(schema::VERSION_TABLE));
                script.push_str(";\n");
            }
            script.push_str(&self.sql(step));
            script.push_str(&self.sql(&format!(
                "\nINSERT INTO {{s}}.ledger_version (version, zdm_version) VALUES ({version}, '{}')\n\
                 ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version, \
                 zdm_version = EXCLUDED.zdm_version, upgraded_at = clock_timestamp();\nCOMMIT;",
                env!("CARGO_PKG_VERSION")
            )));
            if let Err(e) = c.batch_execute(&script).await {
                let _ = c.batch_execute("ROLLBACK").await;
                return Err(Error::Ledger(format!(
                    "upgrading to ledger version {version} failed: {}",
                    crate::error::describe_pg_error(&e)
                )));
            }
        }
        let outcome = match current {
            None => InitOutcome::Created { version: target },
            Some(from) => InitOutcome::Upgraded { from, to: target },
        };
        self.event(
            c,
            NewEvent::ledger(EventLevel::Info, "ledger initialised")
                .details(serde_json::json!({"outcome": outcome})),
        )
        .await?;
        Ok(outcome)
    }

    /// Fail unless the ledger exists (read-only commands never create it).
    pub async fn require(&self, c: &Client) -> Result<()> {
        match self.version(c).await? {
            Some(v) if v > schema::LATEST => Err(Error::Ledger(format!(
                "ledger version {v} is newer than this zdm understands ({})",
                schema::LATEST
            ))),
            Some(_) => Ok(()),
            None => Err(Error::Ledger(format!(
                "no zdm ledger in schema `{}`; run `zdm init`",
                self.schema
            ))),
        }
    }

    pub async fn records(&self, c: &Client) -> Result<Vec<MigrationRecord>> {
        let rows = c
            .query(
                &self.sql(&format!(
                    "SELECT {RECORD_COLUMNS} FROM {{s}}.migrations ORDER BY seq"
                )),
                &[],
            )
            .await?;
        rows.iter().map(MigrationRecord::from_row).collect()
    }

    pub async fn record(&self, c: &Client, id: &str) -> Result<Option<MigrationRecord>> {
        let row = c
            .query_opt(
                &self.sql(&format!(
                    "SELECT {RECORD_COLUMNS} FROM {{s}}.migrations WHERE id = $1"
                )),
                &[&id],
            )
            .await?;
        row.as_ref().map(MigrationRecord::from_row).transpose()
    }

    /// Save a resume checkpoint (merged into `progress`).
    pub async fn save_progress(
        &self,
        c: &Client,
        id: &str,
        progress: &serde_json::Value,
    ) -> Result<()> {
        c.execute(
            &self.sql("UPDATE {s}.migrations SET progress = progress || $2, updated_at = clock_timestamp() WHERE id = $1"),
            &[&id, progress],
        )
        .await?;
        Ok(())
    }

    /// Accept a new checksum for an applied migration whose file was edited (`zdm repair`).
    pub async fn accept_checksum(&self, c: &Client, id: &str, old: &str, new: &str) -> Result<()> {
        c.execute(
            &self.sql(
                "WITH upd AS (UPDATE {s}.migrations SET checksum = $3, updated_at = clock_timestamp() \
                               WHERE id = $1 AND checksum = $2 RETURNING id) \
                 INSERT INTO {s}.events (migration_id, phase, level, message, details) \
                 SELECT id, 'ledger', 'warn', 'repair: accepted the edited file''s new checksum', \
                        jsonb_build_object('old_checksum', $2::text, 'new_checksum', $3::text) FROM upd",
            ),
            &[&id, &old, &new],
        )
        .await?;
        tracing::warn!(
            migration = id,
            phase = "ledger",
            old_checksum = old,
            new_checksum = new,
            "repair: accepted new checksum"
        );
        Ok(())
    }
}
