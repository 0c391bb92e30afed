//! `zdm move` benchmarks, each against a private MariaDB with a ROW binlog (started here) and the
//! server of ZDM_TEST_DATABASE_URL.
//!
//! `move-copy --rows N`: the snapshot copy of one mixed-type table by `zdm move start
//! --until-caught-up`, by pgloader (when installed), and a raw binary `COPY FROM` of the same
//! rows out of a file (the limit): seconds, rows/s, peak RSS, ratios.
//!
//! `move-cdc --rates 2000,5000,10000 --seconds 10`: a fixed rate of row changes on the source
//! while `zdm move start` follows: changes applied per second and lag p50/p99/max, lag being the
//! time from a change's commit on the source to its row being visible on the target.

use crate::process::{default_zdm, measure, Run};
use mysql_async::prelude::*;
use std::collections::VecDeque;
use std::process::Command;
use std::time::{Duration, Instant};
use zdm_testkit::mariadb::PrivateMariadb;
use zdm_testkit::TestDb;

const TABLE: &str =
    "CREATE TABLE t (id int PRIMARY KEY, a bigint NOT NULL, s varchar(64), d decimal(12,2), \
    ts datetime(6), j json, b tinyint(1), u int unsigned)";

pub fn source() -> PrivateMariadb {
    PrivateMariadb::start(&[
        "--log-bin=mysql-bin",
        "--binlog-format=ROW",
        "--server-id=1",
        "--innodb-buffer-pool-size=1G",
        "--innodb-flush-log-at-trx-commit=2",
        "--sync-binlog=0",
    ])
}

async fn fill(url: &str, rows: u64) -> anyhow::Result<()> {
    fill_table(url, rows, TABLE, true).await
}

/// Creates `bench.t` with `ddl` and fills it; `json`: whether the table has the JSON column.
/// `zdm move start --until-caught-up` from `source` into `target`, measured.
pub fn move_start(zdm: &std::path::Path, source: &str, target: &str) -> anyhow::Result<Run> {
    measure(
        Command::new(zdm).args([
            "move",
            "start",
            "--until-caught-up",
            "--json",
            "--source",
            source,
            "--target",
            target,
        ]),
        Duration::from_secs(3600),
    )
}

pub async fn fill_table(url: &str, rows: u64, ddl: &str, json: bool) -> anyhow::Result<()> {
    let mut c = mysql_async::Conn::from_url(url).await?;
    c.query_drop("CREATE DATABASE bench CHARACTER SET utf8mb4")
        .await?;
    c.query_drop("USE bench").await?;
    c.query_drop(ddl).await?;
    let j = if json {
        "concat('{\"n\": ', seq, ', \"tag\": \"x\"}'), "
    } else {
        ""
    };
    let mut from = 1;
    while from <= rows {
        let to = (from + 199_999).min(rows);
        c.query_drop(format!(
            "INSERT INTO t SELECT seq, seq * 7, concat('row-', seq, '-', md5(seq)), seq / 100, \
             '2024-01-01' + INTERVAL seq SECOND + INTERVAL (seq % 1000) MICROSECOND, {j}seq % 2, seq FROM seq_{from}_to_{to}"
        ))
        .await?;
        from = to + 1;
    }
    c.query_drop("ANALYZE TABLE t").await?;
    Ok(())
}

fn row(name: &str, seconds: f64, rows: u64, peak: f64, base: Option<f64>, limit: Option<f64>) {
    let rate = rows as f64 / seconds;
    let ratio = |b: Option<f64>| {
        b.map(|b| format!("{:.2}", rate / b))
            .unwrap_or_else(|| "-".into())
    };
    println!(
        "| {name} | {seconds:.2} | {rate:.0} | {peak:.1} | {} | {} |",
        ratio(base),
        ratio(limit)
    );
}

pub async fn copy(
    rows: u64,
    zdm: Option<std::path::PathBuf>,
    pgloader: &str,
) -> anyhow::Result<()> {
    let zdm = zdm.unwrap_or_else(default_zdm);
    let src = source();
    fill(&src.url, rows).await?;
    let source_url = format!("{}/bench", src.url);
    // zdm
    let zdb = TestDb::create().await;
    let z = move_start(&zdm, &source_url, &zdb.url)?;
    anyhow::ensure!(z.code == 0, "zdm move start failed (exit {})", z.code);
    let c = zdb.connect().await;
    let copied: i64 = c
        .query_one("SELECT count(*) FROM bench.t", &[])
        .await?
        .get(0);
    anyhow::ensure!(copied as u64 == rows, "zdm copied {copied} of {rows} rows");
    // raw COPY of the same rows from a file, into the same table definition with its primary key
    let file = std::env::temp_dir().join(format!("zdm-bench-copy-{}.bin", std::process::id()));
    {
        use futures_util::StreamExt;
        let out = c.copy_out("COPY bench.t TO STDOUT (FORMAT binary)").await?;
        futures_util::pin_mut!(out);
        let mut f = std::fs::File::create(&file)?;
        while let Some(chunk) = out.next().await {
            std::io::Write::write_all(&mut f, &chunk?)?;
        }
    }
    c.batch_execute("CREATE TABLE bench.t_raw (LIKE bench.t INCLUDING ALL)")
        .await?;
    let raw = measure(
        Command::new("psql").args([
            &zdb.url,
            "-q",
            "-c",
            &format!(
                "\\copy bench.t_raw FROM '{}' WITH (FORMAT binary)",
                file.display()
            ),
        ]),
        Duration::from_secs(3600),
    )?;
    let _ = std::fs::remove_file(&file);
    anyhow::ensure!(raw.code == 0, "psql \\copy failed");
    // pgloader, when there is one
    let pdb = TestDb::create().await;
    let has_pgloader = Command::new(pgloader)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let p = if has_pgloader {
        // pgloader's own tuning for database sources (4 workers, range-split readers), datetime
        // kept as wall-clock timestamp and JSON as jsonb, like zdm's plan.
        let target = pdb.url.replacen("postgres://", "postgresql://", 1);
        let load = std::env::temp_dir().join(format!("zdm-bench-{}.load", std::process::id()));
        std::fs::write(
            &load,
            format!(
                "LOAD DATABASE FROM mysql://root@127.0.0.1:{}/bench INTO {target}\n\
                 WITH create tables, create indexes, reset sequences, workers = 4, concurrency = 1,\n\
                 multiple readers per thread, rows per range = 50000, prefetch rows = 10000, batch rows = 25000\n\
                 SET PostgreSQL PARAMETERS maintenance_work_mem to '256MB'\n\
                 CAST type datetime to timestamp drop default drop not null using zero-dates-to-null,\n\
                      column t.j to jsonb;\n",
                src.port
            ),
        )?;
        let mut cmd = Command::new(pgloader);
        cmd.arg(&load).stdin(std::process::Stdio::null());
        let r = measure(&mut cmd, Duration::from_secs(3600))?;
        let pc = pdb.connect().await;
        let n: i64 = pc
            .query_one("SELECT coalesce((SELECT count(*) FROM bench.t), -1)", &[])
            .await
            .map(|r| r.get(0))
            .unwrap_or(-1);
        if n as u64 == rows {
            Some(r)
        } else {
            eprintln!(
                "pgloader did not load the table (exit {}, {n} rows)",
                r.code
            );
            None
        }
    } else {
        eprintln!("pgloader not found (apt-get install pgloader): its row is left out");
        None
    };
    println!("\nsnapshot copy, {rows} rows, MariaDB → PostgreSQL (one run)\n");
    println!("| tool | seconds | rows/s | peak MiB | ×pgloader | ×raw COPY |");
    println!("|---|---|---|---|---|---|");
    let pg_rate = p.as_ref().map(|p| rows as f64 / p.seconds);
    let raw_rate = rows as f64 / raw.seconds;
    row(
        "zdm move start (create, copy, indexes, catch-up)",
        z.seconds,
        rows,
        z.peak_mib,
        pg_rate,
        Some(raw_rate),
    );
    if let Some(p) = &p {
        row(
            "pgloader",
            p.seconds,
            rows,
            p.peak_mib,
            pg_rate,
            Some(raw_rate),
        );
    }
    row(
        "raw binary COPY FROM file (psql)",
        raw.seconds,
        rows,
        raw.peak_mib,
        pg_rate,
        Some(raw_rate),
    );
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub async fn cdc(
    rates: &[u64],
    seconds: u64,
    zdm: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let zdm = zdm.unwrap_or_else(default_zdm);
    let src = source();
    fill(&src.url, 100_000).await?;
    let source_url = format!("{}/bench", src.url);
    let db = TestDb::create().await;
    let mut follower = Command::new(&zdm)
        .args([
            "move",
            "start",
            "--source",
            &source_url,
            "--target",
            &db.url,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let pg = db.connect().await;
    // Wait for the copy and the convergence.
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let done: Option<bool> = pg
            .query_opt("SELECT converged FROM zdm.move_jobs", &[])
            .await
            .ok()
            .flatten()
            .map(|r| r.get(0));
        if done == Some(true) {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "the move did not converge");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("\nchange capture, MariaDB → PostgreSQL, {seconds} s per rate (one run)\n");
    println!("| offered changes/s | applied changes/s | lag p50 ms | lag p99 ms | lag max ms |");
    println!("|---|---|---|---|---|");
    let mut next_id: i64 = 10_000_000;
    for &rate in rates {
        let mut c = mysql_async::Conn::from_url(&source_url).await?;
        let before: i64 = pg
            .query_one("SELECT applied_events FROM zdm.move_jobs", &[])
            .await?
            .get(0);
        // Each tick writes a batch of rows with increasing ids; the sampler maps the highest id
        // seen on the target back to the moment its batch committed on the source.
        let tick = Duration::from_millis(10);
        let per_tick = (rate as f64 * tick.as_secs_f64()).max(1.0) as i64;
        let commits = std::sync::Arc::new(std::sync::Mutex::new(VecDeque::<(i64, Instant)>::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = {
            let (commits, stop, url) = (commits.clone(), stop.clone(), db.url.clone());
            tokio::spawn(async move {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                let mut lags = Vec::new();
                let mut seen = 0i64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let max: Option<i32> = client
                        .query_one("SELECT max(id) FROM bench.t WHERE id >= 10000000", &[])
                        .await
                        .unwrap()
                        .get(0);
                    let max = max.unwrap_or(0) as i64;
                    let now = Instant::now();
                    {
                        let mut q = commits.lock().unwrap();
                        while let Some(&(id, at)) = q.front() {
                            if id > max {
                                break;
                            }
                            if id > seen {
                                lags.push(now.duration_since(at).as_secs_f64() * 1000.0);
                                seen = id;
                            }
                            q.pop_front();
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                lags
            })
        };
        let began = Instant::now();
        let mut n = 0u64;
        while began.elapsed() < Duration::from_secs(seconds) {
            let due = began + tick * (n as u32);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                tokio::time::sleep(wait).await;
            }
            // Half inserts, half updates of earlier rows.
            let ins = per_tick / 2 + per_tick % 2;
            let values: Vec<String> = (0..ins)
                .map(|k| format!("({}, {k}, 'cdc', 1.25, NOW(6), '{{}}', 1, 7)", next_id + k))
                .collect();
            c.query_drop(format!(
                "INSERT INTO t (id, a, s, d, ts, j, b, u) VALUES {}",
                values.join(",")
            ))
            .await?;
            let upd = per_tick / 2;
            if upd > 0 {
                let lo = (n as i64 * upd) % 99_000 + 1;
                c.query_drop(format!(
                    "UPDATE t SET a = a + 1 WHERE id BETWEEN {lo} AND {}",
                    lo + upd - 1
                ))
                .await?;
            }
            next_id += ins;
            commits
                .lock()
                .unwrap()
                .push_back((next_id - 1, Instant::now()));
            n += 1;
        }
        let offered = (n as i64 * per_tick) as f64 / began.elapsed().as_secs_f64();
        // Let the stream drain, then stop sampling.
        let drain = Instant::now();
        while !commits.lock().unwrap().is_empty() && drain.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let total = began.elapsed().as_secs_f64();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut lags = sampler.await?;
        lags.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let after: i64 = pg
            .query_one("SELECT applied_events FROM zdm.move_jobs", &[])
            .await?
            .get(0);
        println!(
            "| {offered:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            (after - before) as f64 / total,
            percentile(&lags, 0.5),
            percentile(&lags, 0.99),
            lags.last().copied().unwrap_or(f64::NAN)
        );
    }
    let _ = follower.kill();
    let _ = follower.wait();
    Ok(())
}
