//! `zdm verify` and `zdm move verify`: wiring and output.

use super::Context;
use crate::cli::{VerifyArgs, VerifyCommon};
use crate::output;
use anyhow::anyhow;
use std::time::Duration;
use zdm_verify::side::Side;
use zdm_verify::throttle::{Replica, Throttle};
use zdm_verify::{Options, Report};

/// Differences were found (exit 1); the report was the output.
#[derive(Debug, thiserror::Error)]
#[error("{0} difference(s) found")]
pub struct DifferencesFound(pub usize);

pub fn side(url: &str, schema: Option<&str>) -> anyhow::Result<Side> {
    if url.starts_with("mysql:") || url.starts_with("mariadb:") {
        let spec = zdm_mysql::SourceSpec::parse(url)?;
        let database = spec
            .database()
            .ok_or_else(|| anyhow!("the MySQL URL names no database: {}", spec.redacted()))?
            .to_string();
        Ok(Side::Mysql { spec, database })
    } else {
        let spec = zdm_pg::ConnectionSpec::parse(url).map_err(zdm_pg::Error::from)?;
        Ok(Side::Postgres {
            spec,
            schema: schema.unwrap_or("public").to_string(),
        })
    }
}

pub fn options(ctx: &Context, c: &VerifyCommon) -> anyhow::Result<Options> {
    let replicas = c
        .replica
        .iter()
        .map(|u| Replica::parse(u))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Options {
        tables: c.tables.clone(),
        key: (!c.key.is_empty()).then(|| c.key.clone()),
        sensitive: c.sensitive.clone(),
        rechecks: c.rechecks,
        parallel: c.parallel,
        throttle: Throttle::new(
            c.scan_target,
            c.pause,
            Some(ctx.global.max_replica_lag).filter(|d| !d.is_zero() && !replicas.is_empty()),
            replicas,
        ),
        progress: progress_bars(ctx),
        ..Options::default()
    })
}

/// One bar per table on a terminal (not with --json): rows hashed on the source, rows/s, ETA.
fn progress_bars(ctx: &Context) -> Option<zdm_verify::Progress> {
    use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
    use std::io::IsTerminal;
    if ctx.global.json || !std::io::stderr().is_terminal() {
        return None;
    }
    let multi = MultiProgress::new();
    let bars: std::sync::Mutex<std::collections::HashMap<String, ProgressBar>> = Default::default();
    let style = ProgressStyle::with_template(
        "{prefix:<24} {bar:30} {pos:>11}/{len:<11} rows  {per_sec:>12}  ETA {eta}",
    )
    .expect("template");
    Some(std::sync::Arc::new(
        move |table: &str, done: i64, estimate: i64| {
            let mut bars = bars.lock().expect("bars");
            let bar = bars.entry(table.to_string()).or_insert_with(|| {
                let b = multi.add(ProgressBar::new(estimate.max(1) as u64));
                b.set_style(style.clone());
                b.set_prefix(table.to_string());
                b
            });
            if done as u64 > bar.length().unwrap_or(0) {
                bar.set_length(done as u64);
            }
            bar.set_position(done as u64);
        },
    ))
}

pub async fn verify(ctx: &Context, args: &VerifyArgs) -> anyhow::Result<()> {
    let target_url = args
        .target
        .clone()
        .or_else(|| ctx.global.database_url.clone())
        .ok_or_else(|| anyhow!("no target: pass --target"))?;
    let source = side(&args.source, args.source_schema.as_deref())?;
    let target = side(&target_url, ctx.global.target_schema.as_deref())?;
    let started = chrono::Utc::now();
    let result = zdm_verify::verify(&source, &target, &options(ctx, &args.common)?, None).await;
    if let Side::Postgres { spec, .. } = &target {
        if let Ok(c) = spec.connect("zdm verify").await {
            let run = zdm_verify::record::Run {
                job_id: None,
                source: &source.describe(),
                target: &target.describe(),
                started_at: started,
                source_position: None,
                applied_position: None,
            };
            let outcome = result.as_ref().map_err(|e| e.to_string());
            let _ = zdm_verify::record::record(
                &c,
                &zdm_pg::Ledger::new(&ctx.global.schema),
                &run,
                outcome,
            )
            .await;
        }
    }
    finish(ctx, result?)
}

pub fn finish(ctx: &Context, report: Report) -> anyhow::Result<()> {
    if ctx.global.json {
        output::json(&report)?;
    } else {
        print(&report);
    }
    let n: usize = report
        .tables
        .iter()
        .map(|t| {
            t.difference_count.max(usize::from(
                t.segments_differing > 0 && t.difference_count == 0,
            ))
        })
        .sum();
    if report.equal {
        Ok(())
    } else {
        Err(DifferencesFound(n).into())
    }
}

fn print(r: &Report) {
    println!("{} → {}", r.source, r.target);
    for t in &r.tables {
        println!(
            "  {:<28} source {:>10} rows, target {:>10} rows, {} segments ({} differ), {:.2}s: {}",
            t.name,
            t.source_rows,
            t.target_rows,
            t.segments,
            t.segments_differing,
            t.seconds,
            if t.difference_count == 0 {
                "equal".to_string()
            } else {
                format!("{} difference(s)", t.difference_count)
            }
        );
        for c in &t.skipped_columns {
            println!("      not compared: {c}");
        }
        for d in &t.differences {
            let key: Vec<String> = d.key.iter().map(|(k, v)| format!("{k}={v}")).collect();
            match d.kind {
                "changed" => {
                    let cols: Vec<String> = d
                        .columns
                        .iter()
                        .map(|c| {
                            let v =
                                |m: &Option<std::collections::BTreeMap<String, Option<String>>>| {
                                    m.as_ref()
                                        .and_then(|m| m.get(c).cloned())
                                        .flatten()
                                        .unwrap_or_else(|| "NULL".into())
                                };
                            format!("{c}: {} → {}", v(&d.source), v(&d.target))
                        })
                        .collect();
                    println!("      changed  {}: {}", key.join(", "), cols.join("; "));
                }
                kind => println!("      {kind:<8} {}", key.join(", ")),
            }
        }
    }
    let throttled = if r.throttled_seconds > 0.0 {
        format!(
            ", throttled {:.1}s ({} replica-lag waits)",
            r.throttled_seconds, r.replica_waits
        )
    } else {
        String::new()
    };
    println!(
        "{} in {:.2}s ({:.0} rows/s{throttled})",
        if r.equal { "equal" } else { "DIFFERENT" },
        r.seconds,
        r.rows_per_second
    );
}

/// Waits (at most 30 s) until the job has applied everything the source had when called.
pub fn wait_for_stream(
    source: zdm_mysql::SourceSpec,
    target: zdm_pg::ConnectionSpec,
    ledger: zdm_pg::Ledger,
    job: String,
) -> zdm_verify::Wait {
    std::sync::Arc::new(move || {
        let (source, target, ledger, job) =
            (source.clone(), target.clone(), ledger.clone(), job.clone());
        Box::pin(async move {
            let Ok(mut c) = source.connect(&[]).await else {
                return;
            };
            let Ok(goal) = zdm_mysql::binlog::current_position(&mut c).await else {
                return;
            };
            let _ = c.disconnect().await;
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while std::time::Instant::now() < deadline {
                if let Ok(pg) = target.connect("zdm move verify").await {
                    if let Ok(j) = zdm_move::job::find(&pg, &ledger, Some(&job)).await {
                        if j.position >= goal {
                            return;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    })
}
