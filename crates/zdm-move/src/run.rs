//! The `zdm move` commands end to end: plan, start/resume (create → copy → indexes → follow),
//! worker, status, stop, abort. The job's state lives in the target's ledger ([`crate::job`]);
//! this module decides what to do next from it, so a run killed at any point is resumed by
//! running `zdm move start` again.

use crate::convert::{plan as make_plan, MovePlan, PlanOptions, PostStepKind};
use crate::copy::{self, CopyOptions, WorkerReport};
use crate::error::{Error, Result};
use crate::follow::{self, FollowEnd, FollowOptions};
use crate::job::{self, Job, JobPhase, NewJob, TableProgress};
use crate::target;
use serde::Serialize;
use std::time::Duration;
use zdm_mysql::binlog::{self, Position};
use zdm_mysql::SourceSpec;
use zdm_pg::ledger::EventLevel;
use zdm_pg::{ConnectionSpec, Ledger};

pub struct Endpoints<'a> {
    pub source: &'a SourceSpec,
    pub target: &'a ConnectionSpec,
    pub ledger: &'a Ledger,
}

fn source_database(source: &SourceSpec) -> Result<String> {
    source.database().map(str::to_string).ok_or_else(|| {
        Error::Refused(format!(
            "the source URL names no database: {}/<database>",
            source.redacted()
        ))
    })
}

/// Reads the source catalog and plans the move (nothing is written anywhere).
pub async fn plan(source: &SourceSpec, opts: &PlanOptions) -> Result<MovePlan> {
    let db = source_database(source)?;
    let mut c = source.connect(copy::SOURCE_SETUP).await?;
    let catalog = zdm_mysql::catalog::read(&mut c, &db).await?;
    let _ = c.disconnect().await;
    if catalog.tables.is_empty() {
        return Err(Error::Refused(format!(
            "the source database {db} has no tables (or the user cannot see them)"
        )));
    }
    for name in opts.tables.iter().chain(&opts.exclude) {
        if catalog.table(name).is_none() {
            return Err(Error::Refused(format!(
                "no table {name} in the source database {db}"
            )));
        }
    }
    Ok(make_plan(&catalog, opts))
}

#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    pub job: Option<String>,
    pub plan: PlanOptions,
    pub workers: usize,
    pub copy: CopyOptions,
    pub follow: FollowOptions,
    /// Re-copy these tables (`all` for every table) before following again.
    pub recopy: Vec<String>,
    /// Skip the DDL statement that stopped the job (its position, `file:pos`).
    pub skip_statement: Option<String>,
    /// Stop after the copy and the indexes (no change capture).
    pub no_follow: bool,
}

pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 16)
}

fn worker_name(i: usize) -> String {
    format!(
        "{}:{}:{i}",
        gethostname::gethostname().to_string_lossy(),
        std::process::id()
    )
}

async fn ensure_ledger(c: &tokio_postgres::Client, ledger: &Ledger) -> Result<()> {
    ledger.init(c).await?;
    Ok(())
}

/// Creates the job (tables on the target, positions) when there is none, or picks it up.
async fn create_or_resume(
    e: &Endpoints<'_>,
    c: &tokio_postgres::Client,
    opts: &StartOptions,
) -> Result<Job> {
    let db = source_database(e.source)?;
    let id = opts.job.clone().unwrap_or_else(|| {
        opts.plan
            .target_schema
            .clone()
            .unwrap_or_else(|| db.to_lowercase())
    });
    if let Some(job) = job::load(c, e.ledger, &id).await? {
        if job.source_database != db {
            return Err(Error::Refused(format!(
                "job {id} moves database {}, not {db}",
                job.source_database
            )));
        }
        return Ok(job);
    }
    binlog::check_prerequisites(e.source).await?;
    let plan = plan(e.source, &opts.plan).await?;
    if let Some(refusal) = plan.refusal() {
        return Err(Error::Refused(refusal));
    }
    let mut src = e.source.connect(copy::SOURCE_SETUP).await?;
    // Changes from here on are replayed after the copy: take the position before any read.
    let start = binlog::current_position(&mut src).await?;
    let server_id = if opts.follow.server_id != 0 {
        opts.follow.server_id
    } else {
        1_000_000 + rand::random::<u32>() % 1_000_000_000
    };
    let mut c2 = e
        .target
        .connect("zdm move create")
        .await
        .map_err(zdm_pg::Error::from)?;
    let tx = c2.transaction().await?;
    let created_schema = target::create_tables(&tx, &plan).await?;
    job::insert(
        &tx,
        e.ledger,
        &NewJob {
            id: &id,
            source_url: e.source.redacted(),
            source_flavor: if plan.source_version.to_ascii_lowercase().contains("mariadb") { "mariadb" } else { "mysql" },
            created_schema,
            plan: &plan,
            options: serde_json::json!({ "server_id": server_id, "strip_nul": opts.copy.convert.strip_nul }),
            start: &start,
        },
    )
    .await?;
    tx.commit().await?;
    job::event(
        c,
        e.ledger,
        &id,
        EventLevel::Info,
        format!(
            "job created: {} tables, change capture from {start}",
            plan.tables.len()
        ),
        serde_json::json!({ "position": start.to_string(), "warnings": plan.warnings.len() }),
    )
    .await;
    let _ = src.disconnect().await;
    job::load(c, e.ledger, &id)
        .await?
        .ok_or_else(|| Error::Refused("the job vanished".into()))
}

/// Runs the copy with `workers` in-process workers, planning chunks of tables that have none.
async fn copy_phase(
    e: &Endpoints<'_>,
    c: &tokio_postgres::Client,
    job: &Job,
    opts: &StartOptions,
) -> Result<WorkerReport> {
    let mut src = e.source.connect(copy::SOURCE_SETUP).await?;
    for t in &job.plan.tables {
        if !job::has_chunks(c, e.ledger, &job.id, &t.source).await? {
            let bounds =
                copy::plan_chunks(&mut src, &job.plan.source_database, t, opts.copy.chunk_rows)
                    .await?;
            job::insert_chunks(c, e.ledger, &job.id, &t.source, &bounds).await?;
        }
    }
    let _ = src.disconnect().await;
    copy_with_workers(e, job, opts.workers, &opts.copy, "").await
}

/// `n` workers of this process copy the job's chunks until none is left; all are awaited, and
/// the first error (if any) is returned.
async fn copy_with_workers(
    e: &Endpoints<'_>,
    job: &Job,
    n: usize,
    opts: &CopyOptions,
    tag: &str,
) -> Result<WorkerReport> {
    let mut tasks = Vec::new();
    for i in 0..n.max(1) {
        let (source, target, ledger, plan, id, copts) = (
            e.source.clone(),
            e.target.clone(),
            e.ledger.clone(),
            job.plan.clone(),
            job.id.clone(),
            opts.clone(),
        );
        let name = format!("{}{tag}", worker_name(i));
        tasks.push(tokio::spawn(async move {
            copy::run_worker(&source, &target, &ledger, &plan, &id, &name, &copts).await
        }));
    }
    let mut total = WorkerReport::default();
    let mut first_error = None;
    for t in tasks {
        match t
            .await
            .map_err(|e| Error::Refused(format!("copy worker panicked: {e}")))?
        {
            Ok(r) => {
                total.chunks += r.chunks;
                total.rows += r.rows;
            }
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(total),
    }
}

/// `zdm move start`: everything from where the job stands.
pub async fn start(e: &Endpoints<'_>, opts: &StartOptions) -> Result<Job> {
    let c = e
        .target
        .connect("zdm move start")
        .await
        .map_err(zdm_pg::Error::from)?;
    ensure_ledger(&c, e.ledger).await?;
    let id_guess = opts.job.clone().unwrap_or_else(|| {
        opts.plan
            .target_schema
            .clone()
            .unwrap_or_else(|| e.source.database().unwrap_or("").to_lowercase())
    });
    zdm_pg::runner_lock::acquire(&c, &format!("{}/move/{id_guess}", e.ledger.schema())).await?;
    let mut job = create_or_resume(e, &c, opts).await?;
    job::set_flag(&c, e.ledger, &job.id, job::Flag::StopRequested, false).await?;
    let result = drive(e, &c, &mut job, opts).await;
    match &result {
        Ok(JobPhase::Stopped) => {
            job::set_phase(&c, e.ledger, &job.id, JobPhase::Stopped, None).await?;
            job::set_flag(&c, e.ledger, &job.id, job::Flag::StopRequested, false).await?;
            job::event(
                &c,
                e.ledger,
                &job.id,
                EventLevel::Info,
                "stopped",
                serde_json::json!({}),
            )
            .await;
        }
        Ok(phase) => job::set_phase(&c, e.ledger, &job.id, *phase, None).await?,
        Err(err) => {
            let message = e.source.scrub(&err.to_string());
            job::set_phase(&c, e.ledger, &job.id, JobPhase::Failed, Some(&message)).await?;
            job::event(
                &c,
                e.ledger,
                &job.id,
                EventLevel::Error,
                format!("failed: {message}"),
                serde_json::json!({}),
            )
            .await;
        }
    }
    result?;
    job::load(&c, e.ledger, &job.id)
        .await?
        .ok_or_else(|| Error::Refused("the job vanished".into()))
}

async fn drive(
    e: &Endpoints<'_>,
    c: &tokio_postgres::Client,
    job: &mut Job,
    opts: &StartOptions,
) -> Result<JobPhase> {
    if let Some(at) = &opts.skip_statement {
        job::set_skip_statement(c, e.ledger, &job.id, Some(at)).await?;
    }
    if !opts.recopy.is_empty() {
        recopy(e, c, job, &opts.recopy).await?;
        *job = job::load(c, e.ledger, &job.id).await?.unwrap();
    }
    // The binlog the replay needs must still be there, before spending hours on a copy.
    {
        let mut src = e.source.connect(&[]).await?;
        let files = binlog::binlog_files(&mut src).await?;
        let _ = src.disconnect().await;
        if !files.contains(&job.position.file) {
            return Err(Error::Stopped(format!(
                "the source has purged the binlog at {} that the job continues from: the changes since then are lost to zdm. Re-copy every table with `zdm move start --recopy all`",
                job.position
            )));
        }
    }
    if job.copy_end.is_none() {
        job::set_phase(c, e.ledger, &job.id, JobPhase::Copying, None).await?;
        let report = copy_phase(e, c, job, opts).await?;
        if job::stop_requested(c, e.ledger, &job.id).await? {
            return Ok(JobPhase::Stopped);
        }
        let mut src = e.source.connect(&[]).await?;
        let end = binlog::current_position(&mut src).await?;
        let _ = src.disconnect().await;
        job::set_copy_end(c, e.ledger, &job.id, &end).await?;
        job::event(
            c,
            e.ledger,
            &job.id,
            EventLevel::Info,
            format!(
                "copy finished ({} rows in {} chunks by this process); converges at {end}",
                report.rows, report.chunks
            ),
            serde_json::json!({ "copy_end": end.to_string() }),
        )
        .await;
        *job = job::load(c, e.ledger, &job.id).await?.unwrap();
    }
    if !job.indexes_built {
        target::run_post_steps(
            e.target,
            &job.plan,
            &[PostStepKind::Index, PostStepKind::Trigger],
            opts.workers,
            false,
        )
        .await?;
        target::sync_identities(c, &job.plan).await?;
        job::set_flag(c, e.ledger, &job.id, job::Flag::IndexesBuilt, true).await?;
        job::event(
            c,
            e.ledger,
            &job.id,
            EventLevel::Info,
            "indexes and triggers built",
            serde_json::json!({}),
        )
        .await;
    }
    if opts.no_follow {
        return Ok(JobPhase::Stopped);
    }
    job::set_phase(c, e.ledger, &job.id, JobPhase::Following, None).await?;
    follow_with_constraints(e, c, job, opts).await
}

/// Follows (reconnecting after lost connections) while, once converged, unique indexes and
/// foreign keys are built beside the stream.
async fn follow_with_constraints(
    e: &Endpoints<'_>,
    c: &tokio_postgres::Client,
    job: &mut Job,
    opts: &StartOptions,
) -> Result<JobPhase> {
    let mut fopts = opts.follow.clone();
    fopts.server_id = job
        .options
        .get("server_id")
        .and_then(|v| v.as_u64())
        .map(|v| v as u32)
        .unwrap_or(fopts.server_id.max(1));
    fopts.convert.strip_nul |= job
        .options
        .get("strip_nul")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let constraints = {
        let (target, ledger, id, workers) = (
            e.target.clone(),
            e.ledger.clone(),
            job.id.clone(),
            opts.workers,
        );
        async move {
            let c = target
                .connect("zdm move constraints")
                .await
                .map_err(zdm_pg::Error::from)?;
            loop {
                let j = job::load(&c, &ledger, &id)
                    .await?
                    .ok_or_else(|| Error::Refused("the job vanished".into()))?;
                if j.constraints_built {
                    return Ok::<(), Error>(());
                }
                if j.converged {
                    target::run_post_steps(
                        &target,
                        &j.plan,
                        &[PostStepKind::UniqueIndex],
                        workers,
                        true,
                    )
                    .await?;
                    target::run_post_steps(&target, &j.plan, &[PostStepKind::ForeignKey], 1, false)
                        .await?;
                    target::run_post_steps(
                        &target,
                        &j.plan,
                        &[PostStepKind::Validate],
                        workers,
                        false,
                    )
                    .await?;
                    job::set_flag(&c, &ledger, &id, job::Flag::ConstraintsBuilt, true).await?;
                    job::event(
                        &c,
                        &ledger,
                        &id,
                        EventLevel::Info,
                        "unique indexes and foreign keys built and validated",
                        serde_json::json!({}),
                    )
                    .await;
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let following = async {
        let mut failures = 0u32;
        loop {
            let current = job::load(c, e.ledger, &job.id).await?.unwrap();
            match follow::follow(e.source, e.target, e.ledger, &current, &fopts).await {
                Ok(FollowEnd::StopRequested) => return Ok(JobPhase::Stopped),
                Ok(FollowEnd::CaughtUp) => return Ok(JobPhase::Stopped),
                Err(err @ (Error::Stopped(_) | Error::Value { .. } | Error::Refused(_))) => return Err(err),
                // Data the target rejects (constraint, type, missing object) will be rejected again.
                Err(Error::Target(pe)) if pe.code().is_some_and(|c| matches!(&c.code()[..2], "22" | "23" | "42")) => return Err(Error::Target(pe)),
                Err(Error::Source(zdm_mysql::Error::Purged(p))) => return Err(Error::Stopped(format!("the source has purged the binlog at {p}: re-copy with `zdm move start --recopy all`"))),
                Err(err) => {
                    failures += 1;
                    let message = e.source.scrub(&err.to_string());
                    if failures > 20 {
                        return Err(err);
                    }
                    let wait = Duration::from_millis((250u64 << failures.min(7)).min(30_000));
                    job::event(c, e.ledger, &job.id, EventLevel::Warn, format!("change stream interrupted ({message}); reconnecting in {wait:?}"), serde_json::json!({ "reconnect": failures })).await;
                    tokio::time::sleep(wait).await;
                }
            }
        }
    };
    tokio::pin!(constraints);
    tokio::pin!(following);
    let mut constraints_done = job.constraints_built;
    loop {
        tokio::select! {
            r = &mut following => {
                // Caught up on request: leave with the constraints built too.
                if r.is_ok() && opts.follow.until_caught_up && !constraints_done {
                    (&mut constraints).await?;
                }
                return r;
            }
            r = &mut constraints, if !constraints_done => {
                constraints_done = true;
                r?;
            }
        }
    }
}

/// Empties the target tables named (or all) and forgets their chunks, so the copy redoes them.
/// After a purged binlog every table must be re-copied, from a new start position.
async fn recopy(
    e: &Endpoints<'_>,
    c: &tokio_postgres::Client,
    job: &Job,
    tables: &[String],
) -> Result<()> {
    let all = tables.iter().any(|t| t == "all");
    let names: Vec<String> = if all {
        job.plan.tables.iter().map(|t| t.source.clone()).collect()
    } else {
        tables.to_vec()
    };
    for n in &names {
        if job.plan.table(n).is_none() {
            return Err(Error::Refused(format!(
                "--recopy {n}: the job does not move a table {n}"
            )));
        }
    }
    let mut src = e.source.connect(&[]).await?;
    let files = binlog::binlog_files(&mut src).await?;
    let purged = !files.contains(&job.position.file);
    if purged && !all {
        return Err(Error::Refused(format!(
            "the binlog at {} is purged: every table needs a re-copy (--recopy all)",
            job.position
        )));
    }
    let new_start: Option<Position> = if all {
        Some(binlog::current_position(&mut src).await?)
    } else {
        None
    };
    let _ = src.disconnect().await;
    let mut c2 = e
        .target
        .connect("zdm move recopy")
        .await
        .map_err(zdm_pg::Error::from)?;
    let tx = c2.transaction().await?;
    // Unique indexes and foreign keys come back once the replay has converged again: the
    // re-copied rows may hold transient duplicates until then.
    target::drop_constraints_of(&tx, &job.plan, &names).await?;
    tx.execute(
        &e.ledger
            .sql("UPDATE {s}.move_jobs SET constraints_built = false WHERE id = $1"),
        &[&job.id],
    )
    .await?;
    for n in &names {
        let t = job.plan.table(n).unwrap();
        tx.batch_execute(&format!(
            "TRUNCATE {}",
            zdm_core::ident::quote_qualified(&job.plan.target_schema, &t.target)
        ))
        .await?;
        job::reset_chunks(&tx, e.ledger, &job.id, n).await?;
    }
    match &new_start {
        Some(p) => job::reset_position(&tx, e.ledger, &job.id, p).await?,
        None => {
            tx.execute(&e.ledger.sql("UPDATE {s}.move_jobs SET copy_end_file = NULL, copy_end_pos = NULL, converged = false WHERE id = $1"), &[&job.id]).await?;
        }
    }
    tx.commit().await?;
    job::event(
        c,
        e.ledger,
        &job.id,
        EventLevel::Warn,
        format!("re-copying {}", names.join(", ")),
        serde_json::json!({ "tables": names }),
    )
    .await;
    Ok(())
}

/// `zdm move worker`: joins the job's copy until no chunk is left.
pub async fn worker(
    e: &Endpoints<'_>,
    job_id: Option<&str>,
    workers: usize,
    opts: &CopyOptions,
) -> Result<WorkerReport> {
    let c = e
        .target
        .connect("zdm move worker")
        .await
        .map_err(zdm_pg::Error::from)?;
    let job = job::find(&c, e.ledger, job_id).await?;
    if job.source_url != e.source.redacted() {
        return Err(Error::Refused(format!(
            "job {} copies from {}, not {}",
            job.id,
            job.source_url,
            e.source.redacted()
        )));
    }
    copy_with_workers(e, &job, workers, opts, "w").await
}

#[derive(Debug, Clone, Serialize)]
pub struct PositionReport {
    pub file: String,
    pub pos: u64,
    pub gtid: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub job: String,
    pub source: String,
    pub target_schema: String,
    pub phase: JobPhase,
    pub converged: bool,
    pub indexes_built: bool,
    pub constraints_built: bool,
    pub tables: Vec<TableProgress>,
    pub rows_copied: i64,
    pub rows_estimated: i64,
    pub position: PositionReport,
    pub start_position: String,
    pub copy_end_position: Option<String>,
    pub lag_seconds: Option<f64>,
    pub applied_events: i64,
    pub applied_transactions: i64,
    pub events_per_second: Option<f64>,
    pub last_error: Option<String>,
    pub warnings: usize,
    /// Times the change stream lost its connection and reconnected.
    pub reconnects: i64,
}

pub async fn status(
    target: &ConnectionSpec,
    ledger: &Ledger,
    job_id: Option<&str>,
) -> Result<StatusReport> {
    let c = target
        .connect("zdm move status")
        .await
        .map_err(zdm_pg::Error::from)?;
    let job = job::find(&c, ledger, job_id).await?;
    report(&c, ledger, &job).await
}

pub async fn report(
    c: &tokio_postgres::Client,
    ledger: &Ledger,
    job: &Job,
) -> Result<StatusReport> {
    let tables = job::progress(c, ledger, job).await?;
    let reconnects = job::reconnects(c, ledger, job).await?;
    Ok(StatusReport {
        job: job.id.clone(),
        source: job.source_url.clone(),
        target_schema: job.target_schema.clone(),
        phase: job.phase,
        converged: job.converged,
        indexes_built: job.indexes_built,
        constraints_built: job.constraints_built,
        rows_copied: tables.iter().map(|t| t.rows_copied).sum(),
        rows_estimated: tables.iter().map(|t| t.rows_estimated).sum(),
        tables,
        position: PositionReport {
            file: job.position.file.clone(),
            pos: job.position.pos,
            gtid: job.gtid.clone(),
        },
        start_position: job.start.to_string(),
        copy_end_position: job.copy_end.as_ref().map(|p| p.to_string()),
        // Lag only means something while following; `None` before.
        lag_seconds: if job.phase == JobPhase::Following {
            job.lag_seconds.map(|l| l.max(0.0))
        } else {
            None
        },
        applied_events: job.applied_events,
        applied_transactions: job.applied_transactions,
        events_per_second: job.stats.get("events_per_second").and_then(|v| v.as_f64()),
        last_error: job.last_error.clone(),
        warnings: job.plan.warnings.len(),
        reconnects,
    })
}

pub async fn stop(target: &ConnectionSpec, ledger: &Ledger, job_id: Option<&str>) -> Result<Job> {
    let c = target
        .connect("zdm move stop")
        .await
        .map_err(zdm_pg::Error::from)?;
    let job = job::find(&c, ledger, job_id).await?;
    job::set_flag(&c, ledger, &job.id, job::Flag::StopRequested, true).await?;
    job::event(
        &c,
        ledger,
        &job.id,
        EventLevel::Info,
        "stop requested",
        serde_json::json!({}),
    )
    .await;
    Ok(job)
}

/// Drops what the job created on the target and the job itself; never touches the source.
pub async fn abort(target: &ConnectionSpec, ledger: &Ledger, job_id: Option<&str>) -> Result<Job> {
    let mut c = target
        .connect("zdm move abort")
        .await
        .map_err(zdm_pg::Error::from)?;
    let job = job::find(&c, ledger, job_id).await?;
    zdm_pg::runner_lock::acquire(&c, &format!("{}/move/{}", ledger.schema(), job.id)).await?;
    let tx = c.transaction().await?;
    target::drop_created(&tx, &job.plan, job.created_schema).await?;
    job::delete(&tx, ledger, &job.id).await?;
    tx.commit().await?;
    job::event(
        &c,
        ledger,
        &job.id,
        EventLevel::Warn,
        "aborted: the job and the tables it created are gone from the target",
        serde_json::json!({}),
    )
    .await;
    Ok(job)
}
