//! `zdm move …`: wiring of the move commands to `zdm_move::run`, with their output.

use super::Context;
use crate::cli::{MoveCommand, MoveCopyArgs, MoveEnds, MoveSelect, MoveStartArgs};
use crate::output;
use anyhow::{anyhow, bail};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;
use zdm_move::convert::{CastFile, PlanOptions};
use zdm_move::copy::CopyOptions;
use zdm_move::follow::FollowOptions;
use zdm_move::run::{self, Endpoints, StartOptions, StatusReport};
use zdm_move::value::ConvertOptions;
use zdm_mysql::SourceSpec;
use zdm_pg::{ConnectionSpec, Ledger};

fn source(ends: &MoveEnds) -> anyhow::Result<SourceSpec> {
    let url = ends
        .source
        .as_deref()
        .ok_or_else(|| anyhow!("no source: pass --source mysql://… or set ZDM_SOURCE_URL"))?;
    Ok(SourceSpec::parse(url).map_err(zdm_move::error::Error::from)?)
}

fn target(ctx: &Context, ends: &MoveEnds) -> anyhow::Result<ConnectionSpec> {
    match ends
        .target
        .as_deref()
        .or(ctx.global.database_url.as_deref())
    {
        Some(url) => Ok(ConnectionSpec::parse(url).map_err(zdm_pg::Error::from)?),
        None => bail!("no target: pass --target postgres://… (or --database-url)"),
    }
}

fn plan_options(ctx: &Context, select: &MoveSelect) -> anyhow::Result<PlanOptions> {
    let cast = match &select.cast {
        Some(p) => CastFile::load(p).map_err(|e| zdm_move::error::Error::Refused(e.to_string()))?,
        None => CastFile::default(),
    };
    Ok(PlanOptions {
        target_schema: ctx.global.target_schema.clone(),
        tables: select.tables.clone(),
        exclude: select.exclude.clone(),
        cast,
    })
}

fn copy_options(copy: &MoveCopyArgs) -> CopyOptions {
    CopyOptions {
        chunk_rows: copy.chunk_rows.max(1),
        convert: ConvertOptions {
            strip_nul: copy.strip_nul,
        },
        ..CopyOptions::default()
    }
}

pub async fn run(ctx: &Context, cmd: MoveCommand) -> anyhow::Result<()> {
    let ledger = Ledger::new(&ctx.global.schema);
    match cmd {
        MoveCommand::Plan { ends, select } => {
            let src = source(&ends)?;
            let plan = run::plan(&src, &plan_options(ctx, &select)?).await?;
            if ctx.global.json {
                output::json(&serde_json::json!({
                    "source": src.redacted(),
                    "plan": plan,
                    "ddl": plan.ddl(),
                }))?;
            } else {
                println!(
                    "-- zdm move plan: {} ({}) → PostgreSQL schema {}",
                    src.redacted(),
                    plan.source_version,
                    plan.target_schema
                );
                for t in &plan.tables {
                    println!("-- {} → {}.{}", t.source, plan.target_schema, t.target);
                    for c in &t.columns {
                        println!(
                            "--   {:<24} {:<28} → {:<24} ({})",
                            c.source, c.source_type, c.pg_type, c.rule
                        );
                    }
                }
                println!();
                print!("{}", plan.ddl());
                if !plan.warnings.is_empty() {
                    println!("\n-- warnings:");
                    for w in &plan.warnings {
                        println!("--   {}", w.describe());
                    }
                }
            }
            if let Some(refusal) = plan.refusal() {
                return Err(zdm_move::error::Error::Refused(refusal).into());
            }
            Ok(())
        }
        MoveCommand::Start(args) | MoveCommand::Resume(args) => start(ctx, &ledger, args).await,
        MoveCommand::Worker { ends, copy } => {
            let (src, tgt) = (source(&ends)?, target(ctx, &ends)?);
            let e = Endpoints {
                source: &src,
                target: &tgt,
                ledger: &ledger,
            };
            let workers = copy.workers.unwrap_or_else(run::default_workers);
            let report =
                run::worker(&e, ends.job.as_deref(), workers, &copy_options(&copy)).await?;
            if ctx.global.json {
                output::json(&serde_json::json!({ "chunks": report.chunks, "rows": report.rows }))
            } else {
                println!(
                    "copied {} rows in {} chunks; no chunk left",
                    report.rows, report.chunks
                );
                Ok(())
            }
        }
        MoveCommand::Status { ends } => {
            let tgt = target(ctx, &ends)?;
            let report = run::status(&tgt, &ledger, ends.job.as_deref()).await?;
            let c = tgt
                .connect("zdm move status")
                .await
                .map_err(zdm_pg::Error::from)?;
            let last = zdm_verify::record::last(&c, &ledger, Some(&report.job)).await?;
            if ctx.global.json {
                let mut v = serde_json::to_value(&report)?;
                v["verify"] = serde_json::to_value(&last)?;
                output::json(&v)
            } else {
                print_status(&report);
                match last {
                    Some(l) if l.equal => println!(
                        "  verified equal at {} ({} rows, source at {})",
                        l.finished_at,
                        l.rows_compared,
                        l.source_position.unwrap_or_default()
                    ),
                    Some(l) => println!(
                        "  last verify at {}: NOT equal ({} differences{})",
                        l.finished_at,
                        l.differences,
                        l.error.map(|e| format!("; {e}")).unwrap_or_default()
                    ),
                    None => println!("  not verified yet (`zdm move verify`)"),
                }
                Ok(())
            }
        }
        MoveCommand::Verify {
            ends,
            common,
            repair,
        } => {
            let (src, tgt) = (source(&ends)?, target(ctx, &ends)?);
            let c = tgt
                .connect("zdm move verify")
                .await
                .map_err(zdm_pg::Error::from)?;
            let job = zdm_move::job::find(&c, &ledger, ends.job.as_deref()).await?;
            let mut mapping = zdm_verify::Mapping::default();
            for t in &job.plan.tables {
                mapping.tables.insert(
                    t.source.clone(),
                    (
                        t.target.clone(),
                        t.columns
                            .iter()
                            .map(|c| (c.source.clone(), c.target.clone()))
                            .collect(),
                    ),
                );
            }
            let mut opts = super::verify::options(ctx, &common)?;
            opts.mapping = Some(mapping);
            let database = job.source_database.clone();
            let source_side = zdm_verify::side::Side::Mysql {
                spec: src.clone(),
                database,
            };
            let target_side = zdm_verify::side::Side::Postgres {
                spec: tgt.clone(),
                schema: job.target_schema.clone(),
            };
            let mut sc = src.connect(&[]).await?;
            let source_position = zdm_mysql::binlog::current_position(&mut sc)
                .await
                .ok()
                .map(|p| p.to_string());
            let _ = sc.disconnect().await;
            let started = chrono::Utc::now();
            let wait = (job.phase == zdm_move::job::JobPhase::Following).then(|| {
                super::verify::wait_for_stream(
                    src.clone(),
                    tgt.clone(),
                    ledger.clone(),
                    job.id.clone(),
                )
            });
            let mut result =
                zdm_verify::verify(&source_side, &target_side, &opts, wait.clone()).await;
            // --repair: re-copy what differs, then look again (a few rounds: 1000 listed per table).
            let mut rounds = 0;
            while repair && rounds < 3 {
                let Ok(report) = &result else { break };
                if report.equal {
                    break;
                }
                rounds += 1;
                let mut repaired = 0;
                for t in &report.tables {
                    let Some(tp) = job.plan.table(&t.name) else {
                        continue;
                    };
                    let fixes: Vec<zdm_move::repair::Fix> = t
                        .differences
                        .iter()
                        .map(|d| zdm_move::repair::Fix {
                            key: tp
                                .key
                                .iter()
                                .map(|k| d.key.get(k).cloned().unwrap_or_default())
                                .collect(),
                        })
                        .collect();
                    if !fixes.is_empty() {
                        repaired +=
                            zdm_move::repair::repair(&src, &tgt, &job, &t.name, &fixes).await?;
                    }
                }
                if !ctx.global.json {
                    eprintln!("repaired {repaired} row(s); verifying again");
                }
                let tables: Vec<String> = report
                    .tables
                    .iter()
                    .filter(|t| t.difference_count > 0 || t.segments_differing > 0)
                    .map(|t| t.name.clone())
                    .collect();
                let again = zdm_verify::Options {
                    tables,
                    ..opts.clone()
                };
                result = zdm_verify::verify(&source_side, &target_side, &again, wait.clone()).await;
            }
            let applied = zdm_move::job::find(&c, &ledger, Some(&job.id))
                .await
                .ok()
                .map(|j| j.position.to_string());
            let run = zdm_verify::record::Run {
                job_id: Some(&job.id),
                source: &source_side.describe(),
                target: &target_side.describe(),
                started_at: started,
                source_position,
                applied_position: applied,
            };
            zdm_verify::record::record(
                &c,
                &ledger,
                &run,
                result.as_ref().map_err(|e| e.to_string()),
            )
            .await?;
            super::verify::finish(ctx, result?)
        }
        MoveCommand::Stop { ends } => {
            let tgt = target(ctx, &ends)?;
            let job = run::stop(&tgt, &ledger, ends.job.as_deref()).await?;
            if ctx.global.json {
                output::json(&serde_json::json!({ "job": job.id, "stop_requested": true }))
            } else {
                println!(
                    "asked job {} to stop; `zdm move status` shows when it has",
                    job.id
                );
                Ok(())
            }
        }
        MoveCommand::Abort { ends, yes } => {
            if !yes {
                return Err(zdm_move::error::Error::Refused(
                    "abort drops every table the job created on the target: pass --yes".into(),
                )
                .into());
            }
            let tgt = target(ctx, &ends)?;
            let job = run::abort(&tgt, &ledger, ends.job.as_deref()).await?;
            if ctx.global.json {
                output::json(&serde_json::json!({ "job": job.id, "aborted": true }))
            } else {
                println!("aborted job {}: its {} tables are dropped from the target; the source is untouched", job.id, job.plan.tables.len());
                Ok(())
            }
        }
    }
}

async fn start(ctx: &Context, ledger: &Ledger, args: MoveStartArgs) -> anyhow::Result<()> {
    let (src, tgt) = (source(&args.ends)?, target(ctx, &args.ends)?);
    let opts = StartOptions {
        job: args.ends.job.clone(),
        plan: plan_options(ctx, &args.select)?,
        workers: args.copy.workers.unwrap_or_else(run::default_workers),
        copy: copy_options(&args.copy),
        follow: FollowOptions {
            server_id: args.server_id,
            until_caught_up: args.until_caught_up,
            convert: ConvertOptions {
                strip_nul: args.copy.strip_nul,
            },
            ..FollowOptions::default()
        },
        recopy: args.recopy.clone(),
        skip_statement: args.skip_statement.clone(),
        no_follow: false,
    };
    let e = Endpoints {
        source: &src,
        target: &tgt,
        ledger,
    };
    // Ctrl-C asks for a graceful stop, as `zdm move stop` would.
    let stopper = {
        let (tgt, ledger, job) = (tgt.clone(), ledger.clone(), args.ends.job.clone());
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("stopping after the current transaction…");
                let _ = run::stop(&tgt, &ledger, job.as_deref()).await;
            }
        })
    };
    let display = if ctx.global.json {
        None
    } else {
        Some(tokio::spawn(show_progress(
            tgt.clone(),
            ledger.clone(),
            args.ends.job.clone(),
        )))
    };
    let result = run::start(&e, &opts).await;
    stopper.abort();
    if let Some(d) = display {
        d.abort();
    }
    let job = result?;
    let report = run::report(
        &tgt.connect("zdm move").await.map_err(zdm_pg::Error::from)?,
        ledger,
        &job,
    )
    .await?;
    if ctx.global.json {
        output::json(&report)
    } else {
        print_status(&report);
        Ok(())
    }
}

fn print_status(r: &StatusReport) {
    println!(
        "job {} ({} → schema {}): {}",
        r.job,
        r.source,
        r.target_schema,
        serde_json::to_value(r.phase)
            .unwrap()
            .as_str()
            .unwrap_or("")
    );
    for t in &r.tables {
        println!(
            "  {:<32} {:<10} {:>12} / {:<12} rows  {}/{} chunks",
            t.name, t.state, t.rows_copied, t.rows_estimated, t.chunks_done, t.chunks
        );
    }
    println!(
        "  position {}:{}{}  applied {} events in {} transactions{}{}",
        r.position.file,
        r.position.pos,
        r.position
            .gtid
            .as_ref()
            .map(|g| format!(" (gtid {g})"))
            .unwrap_or_default(),
        r.applied_events,
        r.applied_transactions,
        r.lag_seconds
            .map(|l| format!("  lag {l:.1}s"))
            .unwrap_or_default(),
        if r.converged { "  converged" } else { "" }
    );
    if let Some(e) = &r.last_error {
        println!("  last error: {e}");
    }
}

/// Per-table bars while copying, then a lag line; plain lines without a TTY.
async fn show_progress(tgt: ConnectionSpec, ledger: Ledger, job: Option<String>) {
    let tty = std::io::stderr().is_terminal();
    let multi = MultiProgress::new();
    let mut bars: BTreeMap<String, ProgressBar> = BTreeMap::new();
    let style = ProgressStyle::with_template(
        "{prefix:>24} [{bar:30}] {pos}/{len} rows {per_sec} eta {eta}",
    )
    .unwrap()
    .progress_chars("=> ");
    let follow_bar = ProgressBar::new_spinner();
    let mut follow_added = false;
    let mut last_line = std::time::Instant::now() - Duration::from_secs(60);
    loop {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let Ok(r) = run::status(&tgt, &ledger, job.as_deref()).await else {
            continue;
        };
        if tty {
            for t in &r.tables {
                let bar = bars.entry(t.name.clone()).or_insert_with(|| {
                    let b = multi.add(ProgressBar::new(t.rows_estimated.max(1) as u64));
                    b.set_style(style.clone());
                    b.set_prefix(t.name.clone());
                    b
                });
                bar.set_length(t.rows_estimated.max(t.rows_copied).max(1) as u64);
                bar.set_position(t.rows_copied as u64);
            }
            if r.copy_end_position.is_some() {
                if !follow_added {
                    multi.add(follow_bar.clone());
                    follow_added = true;
                }
                follow_bar.set_message(format!(
                    "following {}:{}  lag {}  {} events applied{}",
                    r.position.file,
                    r.position.pos,
                    r.lag_seconds
                        .map(|l| format!("{l:.1}s"))
                        .unwrap_or("-".into()),
                    r.applied_events,
                    if r.converged {
                        "  (converged)"
                    } else {
                        "  (catching up)"
                    }
                ));
                follow_bar.tick();
            }
        } else if last_line.elapsed() >= Duration::from_secs(5) {
            last_line = std::time::Instant::now();
            eprintln!(
                "move {}: {} rows copied of ~{}; position {}:{}; lag {}; {} events applied",
                r.job,
                r.rows_copied,
                r.rows_estimated,
                r.position.file,
                r.position.pos,
                r.lag_seconds
                    .map(|l| format!("{l:.1}s"))
                    .unwrap_or("-".into()),
                r.applied_events
            );
        }
    }
}
