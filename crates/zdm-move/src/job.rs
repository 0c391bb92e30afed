//! A move job's state in the target's ledger (`move_jobs`, `move_tables`, `move_chunks`, see the
//! ledger's upgrade step 4). Every write to those tables is here.

use crate::convert::MovePlan;
use crate::error::{Error, Result};
use serde::Serialize;
use tokio_postgres::{Client, GenericClient, Row};
use zdm_mysql::binlog::Position;
use zdm_pg::ledger::{EventLevel, NewEvent};
use zdm_pg::Ledger;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobPhase {
    Copying,
    Following,
    Stopped,
    Failed,
}

impl JobPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            JobPhase::Copying => "copying",
            JobPhase::Following => "following",
            JobPhase::Stopped => "stopped",
            JobPhase::Failed => "failed",
        }
    }
    fn parse(s: &str) -> JobPhase {
        match s {
            "copying" => JobPhase::Copying,
            "following" => JobPhase::Following,
            "stopped" => JobPhase::Stopped,
            _ => JobPhase::Failed,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub source_url: String,
    pub source_database: String,
    pub target_schema: String,
    pub created_schema: bool,
    pub phase: JobPhase,
    pub plan: MovePlan,
    pub options: serde_json::Value,
    pub start: Position,
    pub copy_end: Option<Position>,
    pub indexes_built: bool,
    pub converged: bool,
    pub constraints_built: bool,
    pub position: Position,
    pub gtid: Option<String>,
    pub applied_events: i64,
    pub applied_transactions: i64,
    pub last_event_at: Option<chrono::DateTime<chrono::Utc>>,
    pub caught_up_at: Option<chrono::DateTime<chrono::Utc>>,
    pub stop_requested: bool,
    pub skip_statement_at: Option<String>,
    pub last_error: Option<String>,
    pub stats: serde_json::Value,
    pub source_head: Option<Position>,
    pub lag_seconds: Option<f64>,
}

fn pos(file: Option<String>, p: Option<i64>) -> Option<Position> {
    Some(Position {
        file: file?,
        pos: p? as u64,
    })
}

const JOB_COLUMNS: &str = "id, source_url, source_database, target_schema, created_schema, phase, plan, options, \
    start_file, start_pos, copy_end_file, copy_end_pos, indexes_built, converged, constraints_built, position_file, position_pos, \
    position_gtid, applied_events, applied_transactions, last_event_at, caught_up_at, stop_requested, \
    skip_statement_at, last_error, stats, source_head_file, source_head_pos, \
    extract(epoch FROM clock_timestamp() - greatest(last_event_at, caught_up_at))::float8 AS lag_seconds";

impl Job {
    fn from_row(r: &Row) -> Result<Job> {
        let plan: serde_json::Value = r.get("plan");
        Ok(Job {
            id: r.get("id"),
            source_url: r.get("source_url"),
            source_database: r.get("source_database"),
            target_schema: r.get("target_schema"),
            created_schema: r.get("created_schema"),
            phase: JobPhase::parse(r.get("phase")),
            plan: serde_json::from_value(plan).map_err(|e| {
                Error::Refused(format!(
                    "the stored plan of this job cannot be read by this zdm: {e}"
                ))
            })?,
            options: r.get("options"),
            start: pos(r.get("start_file"), r.get("start_pos")).unwrap(),
            copy_end: pos(r.get("copy_end_file"), r.get("copy_end_pos")),
            indexes_built: r.get("indexes_built"),
            converged: r.get("converged"),
            constraints_built: r.get("constraints_built"),
            position: pos(r.get("position_file"), r.get("position_pos")).unwrap(),
            gtid: r.get("position_gtid"),
            applied_events: r.get("applied_events"),
            applied_transactions: r.get("applied_transactions"),
            last_event_at: r.get("last_event_at"),
            caught_up_at: r.get("caught_up_at"),
            stop_requested: r.get("stop_requested"),
            skip_statement_at: r.get("skip_statement_at"),
            last_error: r.get("last_error"),
            stats: r.get("stats"),
            source_head: pos(r.get("source_head_file"), r.get("source_head_pos")),
            lag_seconds: r.get("lag_seconds"),
        })
    }

    pub fn event_id(&self) -> String {
        format!("move:{}", self.id)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TableProgress {
    pub name: String,
    pub target: String,
    pub state: &'static str,
    pub rows_copied: i64,
    pub rows_estimated: i64,
    pub chunks_done: i64,
    pub chunks: i64,
}

#[derive(Debug, Clone)]
pub struct Chunk {
    pub table: String,
    pub chunk_no: i32,
    pub lower: Option<serde_json::Value>,
    pub upper: Option<serde_json::Value>,
}

/// A new job: its row, its tables and its chunks, in the caller's transaction.
pub struct NewJob<'a> {
    pub id: &'a str,
    pub source_url: &'a str,
    pub source_flavor: &'a str,
    pub created_schema: bool,
    pub plan: &'a MovePlan,
    pub options: serde_json::Value,
    pub start: &'a Position,
}

pub async fn insert(c: &impl GenericClient, ledger: &Ledger, job: &NewJob<'_>) -> Result<()> {
    c.execute(
        &ledger.sql(
            "INSERT INTO {s}.move_jobs (id, source_url, source_database, source_flavor, target_schema, created_schema, \
             phase, plan, options, start_file, start_pos, position_file, position_pos) \
             VALUES ($1, $2, $3, $4, $5, $6, 'copying', $7, $8, $9, $10, $9, $10)",
        ),
        &[
            &job.id,
            &job.source_url,
            &job.plan.source_database,
            &job.source_flavor,
            &job.plan.target_schema,
            &job.created_schema,
            &serde_json::to_value(job.plan).unwrap(),
            &job.options,
            &job.start.file,
            &(job.start.pos as i64),
        ],
    )
    .await?;
    for t in &job.plan.tables {
        c.execute(
            &ledger.sql("INSERT INTO {s}.move_tables (job_id, source_table, target_table, rows_estimated) VALUES ($1, $2, $3, $4)"),
            &[&job.id, &t.source, &t.target, &(t.rows_estimated as i64)],
        )
        .await?;
    }
    Ok(())
}

pub async fn insert_chunks(
    c: &impl GenericClient,
    ledger: &Ledger,
    job: &str,
    table: &str,
    bounds: &[(Option<serde_json::Value>, Option<serde_json::Value>)],
) -> Result<()> {
    let stmt = c
        .prepare(&ledger.sql("INSERT INTO {s}.move_chunks (job_id, source_table, chunk_no, lower_key, upper_key) VALUES ($1, $2, $3, $4, $5)"))
        .await?;
    for (i, (lo, hi)) in bounds.iter().enumerate() {
        c.execute(&stmt, &[&job, &table, &(i as i32), lo, hi])
            .await?;
    }
    Ok(())
}

pub async fn load(c: &impl GenericClient, ledger: &Ledger, id: &str) -> Result<Option<Job>> {
    let row = c
        .query_opt(
            &ledger.sql(&format!(
                "SELECT {JOB_COLUMNS} FROM {{s}}.move_jobs WHERE id = $1"
            )),
            &[&id],
        )
        .await?;
    row.as_ref().map(Job::from_row).transpose()
}

pub async fn list(c: &impl GenericClient, ledger: &Ledger) -> Result<Vec<Job>> {
    let exists: bool = c
        .query_one(
            "SELECT to_regclass(format('%I.move_jobs', $1::text)) IS NOT NULL",
            &[&ledger.schema()],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(vec![]);
    }
    let rows = c
        .query(
            &ledger.sql(&format!(
                "SELECT {JOB_COLUMNS} FROM {{s}}.move_jobs ORDER BY created_at"
            )),
            &[],
        )
        .await?;
    rows.iter().map(Job::from_row).collect()
}

/// How often the change stream had to reconnect (each is an event with a `reconnect` count).
pub async fn reconnects(c: &impl GenericClient, ledger: &Ledger, job: &Job) -> Result<i64> {
    Ok(c.query_one(
        &ledger.sql(
            "SELECT count(*) FROM {s}.events WHERE migration_id = $1 AND details ? 'reconnect'",
        ),
        &[&job.event_id()],
    )
    .await?
    .get(0))
}

/// The job named `id`, or the only job when `id` is None.
pub async fn find(c: &impl GenericClient, ledger: &Ledger, id: Option<&str>) -> Result<Job> {
    if let Some(id) = id {
        return load(c, ledger, id)
            .await?
            .ok_or_else(|| Error::Refused(format!("no move job {id:?} on the target")));
    }
    let mut jobs = list(c, ledger).await?;
    match jobs.len() {
        0 => Err(Error::Refused(
            "no move job on the target (start one with `zdm move start`)".into(),
        )),
        1 => Ok(jobs.remove(0)),
        _ => Err(Error::Refused(format!(
            "several move jobs on the target ({}): name one with --job",
            jobs.iter()
                .map(|j| j.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

pub async fn set_phase(
    c: &impl GenericClient,
    ledger: &Ledger,
    id: &str,
    phase: JobPhase,
    error: Option<&str>,
) -> Result<()> {
    c.execute(
        &ledger.sql("UPDATE {s}.move_jobs SET phase = $2, last_error = $3, updated_at = clock_timestamp() WHERE id = $1"),
        &[&id, &phase.as_str(), &error],
    )
    .await?;
    Ok(())
}

/// The job's boolean flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    IndexesBuilt,
    Converged,
    ConstraintsBuilt,
    StopRequested,
}

impl Flag {
    fn column(self) -> &'static str {
        match self {
            Flag::IndexesBuilt => "indexes_built",
            Flag::Converged => "converged",
            Flag::ConstraintsBuilt => "constraints_built",
            Flag::StopRequested => "stop_requested",
        }
    }
}

pub async fn set_flag(
    c: &impl GenericClient,
    ledger: &Ledger,
    id: &str,
    flag: Flag,
    value: bool,
) -> Result<()> {
    c.execute(
        &ledger.sql(&format!(
            "UPDATE {{s}}.move_jobs SET {} = $2, updated_at = clock_timestamp() WHERE id = $1",
            flag.column()
        )),
        &[&id, &value],
    )
    .await?;
    Ok(())
}

pub async fn set_copy_end(
    c: &impl GenericClient,
    ledger: &Ledger,
    id: &str,
    p: &Position,
) -> Result<()> {
    c.execute(
        &ledger.sql("UPDATE {s}.move_jobs SET copy_end_file = $2, copy_end_pos = $3, updated_at = clock_timestamp() WHERE id = $1"),
        &[&id, &p.file, &(p.pos as i64)],
    )
    .await?;
    Ok(())
}

pub async fn set_skip_statement(
    c: &impl GenericClient,
    ledger: &Ledger,
    id: &str,
    at: Option<&str>,
) -> Result<()> {
    c.execute(
        &ledger.sql("UPDATE {s}.move_jobs SET skip_statement_at = $2 WHERE id = $1"),
        &[&id, &at],
    )
    .await?;
    Ok(())
}

/// Restarting from a new position (a re-copy after the binlog was purged).
pub async fn reset_position(
    c: &impl GenericClient,
    ledger: &Ledger,
    id: &str,
    p: &Position,
) -> Result<()> {
    c.execute(
        &ledger.sql(
            "UPDATE {s}.move_jobs SET start_file = $2, start_pos = $3, position_file = $2, position_pos = $3, \
             copy_end_file = NULL, copy_end_pos = NULL, converged = false, phase = 'copying', updated_at = clock_timestamp() WHERE id = $1",
        ),
        &[&id, &p.file, &(p.pos as i64)],
    )
    .await?;
    Ok(())
}

/// What the applier stores with every batch, in the batch's transaction.
pub struct Applied<'a> {
    pub position: &'a Position,
    pub gtid: Option<&'a str>,
    pub events: i64,
    pub transactions: i64,
    pub last_event_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The plan changed (a column added on the source), in the transaction that changed the table.
pub async fn save_plan(
    c: &impl GenericClient,
    ledger: &Ledger,
    id: &str,
    plan: &MovePlan,
) -> Result<()> {
    c.execute(
        &ledger.sql("UPDATE {s}.move_jobs SET plan = $2 WHERE id = $1"),
        &[&id, &serde_json::to_value(plan).unwrap()],
    )
    .await?;
    Ok(())
}

pub async fn save_position(
    c: &impl GenericClient,
    ledger: &Ledger,
    id: &str,
    a: &Applied<'_>,
) -> Result<()> {
    c.execute(
        &ledger.sql(
            "UPDATE {s}.move_jobs SET position_file = $2, position_pos = $3, position_gtid = coalesce($4, position_gtid), \
             applied_events = applied_events + $5, applied_transactions = applied_transactions + $6, \
             last_event_at = coalesce($7, last_event_at), updated_at = clock_timestamp() WHERE id = $1",
        ),
        &[&id, &a.position.file, &(a.position.pos as i64), &a.gtid, &a.events, &a.transactions, &a.last_event_at],
    )
    .await?;
    Ok(())
}

/// The stream is alive and everything it delivered is applied (lag 0 as of now).
pub async fn caught_up(
    c: &impl GenericClient,
    ledger: &Ledger,
    id: &str,
    head: Option<&Position>,
    stats: &serde_json::Value,
) -> Result<bool> {
    let row = c
        .query_one(
            &ledger.sql(
                "UPDATE {s}.move_jobs SET caught_up_at = CASE WHEN $2 THEN clock_timestamp() ELSE caught_up_at END, \
                 source_head_file = coalesce($3, source_head_file), source_head_pos = coalesce($4, source_head_pos), \
                 stats = $5, updated_at = clock_timestamp() WHERE id = $1 RETURNING stop_requested",
            ),
            &[&id, &head.is_some(), &head.map(|h| h.file.clone()), &head.map(|h| h.pos as i64), stats],
        )
        .await?;
    Ok(row.get(0))
}

pub async fn stop_requested(c: &impl GenericClient, ledger: &Ledger, id: &str) -> Result<bool> {
    let row = c
        .query_one(
            &ledger.sql("SELECT stop_requested FROM {s}.move_jobs WHERE id = $1"),
            &[&id],
        )
        .await?;
    Ok(row.get(0))
}

/// Claims the next chunk to copy: a pending one, or one whose worker's lease ran out.
pub async fn claim_chunk(
    c: &Client,
    ledger: &Ledger,
    job: &str,
    worker: &str,
    lease: std::time::Duration,
) -> Result<Option<Chunk>> {
    let row = c
        .query_opt(
            &ledger.sql(
                "UPDATE {s}.move_chunks m SET state = 'claimed', claimed_by = $2, \
                 lease_until = clock_timestamp() + make_interval(secs => $3), attempts = attempts + 1 \
                 FROM (SELECT source_table, chunk_no FROM {s}.move_chunks \
                       WHERE job_id = $1 AND (state = 'pending' OR (state = 'claimed' AND lease_until < clock_timestamp())) \
                       ORDER BY source_table, chunk_no LIMIT 1 FOR UPDATE SKIP LOCKED) n \
                 WHERE m.job_id = $1 AND m.source_table = n.source_table AND m.chunk_no = n.chunk_no \
                 RETURNING m.source_table, m.chunk_no, m.lower_key, m.upper_key, m.attempts",
            ),
            &[&job, &worker, &lease.as_secs_f64()],
        )
        .await?;
    Ok(row.map(|r| Chunk {
        table: r.get(0),
        chunk_no: r.get(1),
        lower: r.get(2),
        upper: r.get(3),
    }))
}

pub async fn renew_lease(
    c: &Client,
    ledger: &Ledger,
    job: &str,
    chunk: &Chunk,
    worker: &str,
    lease: std::time::Duration,
) -> Result<bool> {
    let n = c
        .execute(
            &ledger.sql(
                "UPDATE {s}.move_chunks SET lease_until = clock_timestamp() + make_interval(secs => $5) \
                 WHERE job_id = $1 AND source_table = $2 AND chunk_no = $3 AND claimed_by = $4 AND state = 'claimed'",
            ),
            &[&job, &chunk.table, &chunk.chunk_no, &worker, &lease.as_secs_f64()],
        )
        .await?;
    Ok(n == 1)
}

/// Marks the chunk done, in the transaction that wrote its rows; false when this worker no
/// longer holds the claim (its lease ran out and another took it): the caller rolls back.
pub async fn finish_chunk(
    c: &impl GenericClient,
    ledger: &Ledger,
    job: &str,
    chunk: &Chunk,
    worker: &str,
    rows: i64,
) -> Result<bool> {
    let n = c
        .execute(
            &ledger.sql(
                "UPDATE {s}.move_chunks SET state = 'done', rows_copied = $5, done_at = clock_timestamp(), lease_until = NULL \
                 WHERE job_id = $1 AND source_table = $2 AND chunk_no = $3 AND claimed_by = $4 AND state = 'claimed'",
            ),
            &[&job, &chunk.table, &chunk.chunk_no, &worker, &rows],
        )
        .await?;
    Ok(n == 1)
}

/// Chunks not yet done.
pub async fn chunks_left(c: &impl GenericClient, ledger: &Ledger, job: &str) -> Result<i64> {
    let r = c
        .query_one(
            &ledger
                .sql("SELECT count(*) FROM {s}.move_chunks WHERE job_id = $1 AND state <> 'done'"),
            &[&job],
        )
        .await?;
    Ok(r.get(0))
}

/// Forget a table's chunks (re-copy): the caller truncates the target table in the same transaction.
pub async fn reset_chunks(
    c: &impl GenericClient,
    ledger: &Ledger,
    job: &str,
    table: &str,
) -> Result<()> {
    c.execute(
        &ledger.sql("DELETE FROM {s}.move_chunks WHERE job_id = $1 AND source_table = $2"),
        &[&job, &table],
    )
    .await?;
    Ok(())
}

pub async fn has_chunks(
    c: &impl GenericClient,
    ledger: &Ledger,
    job: &str,
    table: &str,
) -> Result<bool> {
    let r = c
        .query_one(&ledger.sql("SELECT EXISTS (SELECT 1 FROM {s}.move_chunks WHERE job_id = $1 AND source_table = $2)"), &[&job, &table])
        .await?;
    Ok(r.get(0))
}

pub async fn progress(
    c: &impl GenericClient,
    ledger: &Ledger,
    job: &Job,
) -> Result<Vec<TableProgress>> {
    let rows = c
        .query(
            &ledger.sql(
                "SELECT t.source_table, t.target_table, t.rows_estimated, \
                 coalesce(sum(c.rows_copied), 0)::bigint, count(c.*) FILTER (WHERE c.state = 'done'), count(c.*), \
                 count(c.*) FILTER (WHERE c.state = 'claimed') \
                 FROM {s}.move_tables t LEFT JOIN {s}.move_chunks c ON c.job_id = t.job_id AND c.source_table = t.source_table \
                 WHERE t.job_id = $1 GROUP BY 1, 2, 3 ORDER BY 1",
            ),
            &[&job.id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let done: i64 = r.get(4);
            let total: i64 = r.get(5);
            let claimed: i64 = r.get(6);
            let state = if total > 0 && done == total {
                if job.converged {
                    "following"
                } else {
                    "copied"
                }
            } else if claimed > 0 || done > 0 {
                "copying"
            } else {
                "pending"
            };
            TableProgress {
                name: r.get(0),
                target: r.get(1),
                state,
                rows_copied: r.get(3),
                rows_estimated: r.get(2),
                chunks_done: done,
                chunks: total,
            }
        })
        .collect())
}

pub async fn event(
    c: &Client,
    ledger: &Ledger,
    job: &str,
    level: EventLevel,
    message: impl Into<String>,
    details: serde_json::Value,
) {
    let e = NewEvent::new(
        &format!("move:{job}"),
        zdm_core::state::Phase::Move,
        level,
        message,
    )
    .details(details);
    if let Err(err) = ledger.event(c, e).await {
        tracing::warn!("cannot record a move event: {err}");
    }
}

/// Removes the job's rows (the caller drops the target objects in the same transaction).
pub async fn delete(c: &impl GenericClient, ledger: &Ledger, id: &str) -> Result<()> {
    c.execute(
        &ledger.sql("DELETE FROM {s}.move_chunks WHERE job_id = $1"),
        &[&id],
    )
    .await?;
    c.execute(
        &ledger.sql("DELETE FROM {s}.move_jobs WHERE id = $1"),
        &[&id],
    )
    .await?;
    Ok(())
}
