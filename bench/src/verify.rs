//! `verify --rows 1000000`: `zdm move verify` / `zdm verify` against reladiff on the same tables
//! in the same run, MySQL→PG and PG→PG, equal and with one changed value: seconds, rows/s,
//! peak RSS, and whether either tool reported a difference that is not there.

use crate::moving::{fill_table, move_start, source};
use crate::process::{default_zdm, measure_to, Run};
use std::process::Command;
use std::time::Duration;
use zdm_testkit::TestDb;

// reladiff compares no MariaDB JSON with jsonb (it refuses the column), so the table has none;
// zdm's JSON comparison is measured by the move tests.
const TABLE: &str =
    "CREATE TABLE t (id int PRIMARY KEY, a bigint NOT NULL, s varchar(64), d decimal(12,2), \
    ts datetime(6), b tinyint(1), u int unsigned)";
const COLUMNS: &[&str] = &["a", "s", "d", "ts", "b", "u"];

fn reladiff(
    tool: &str,
    a: &str,
    ta: &str,
    b: &str,
    tb: &str,
) -> anyhow::Result<(Run, Option<i64>)> {
    let mut cmd = Command::new(tool);
    cmd.env("COLUMNS", "100000")
        .args([a, ta, b, tb, "-k", "id", "-s", "--json"]);
    for c in COLUMNS {
        cmd.args(["-c", c]);
    }
    let out = std::env::temp_dir().join(format!("zdm-bench-reladiff-{}.out", std::process::id()));
    let r = measure_to(&mut cmd, Duration::from_secs(3600), &out, false)?;
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let total = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v["total"].as_i64());
    Ok((r, total))
}

fn zdm_verify(zdm: &std::path::Path, args: &[&str]) -> anyhow::Result<(Run, Option<i64>)> {
    let out = std::env::temp_dir().join(format!("zdm-bench-verify-{}.out", std::process::id()));
    let mut cmd = Command::new(zdm);
    cmd.args(args).arg("--json");
    let r = measure_to(&mut cmd, Duration::from_secs(3600), &out, false)?;
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap_or_default())
            .unwrap_or_default();
    let total = v["tables"].as_array().map(|ts| {
        ts.iter()
            .map(|t| t["difference_count"].as_i64().unwrap_or(0))
            .sum()
    });
    Ok((r, total))
}

fn line(case: &str, rows: u64, z: &(Run, Option<i64>), r: &(Run, Option<i64>), expected: i64) {
    let rate = |run: &Run| rows as f64 / run.seconds;
    let found = |t: Option<i64>| match t {
        Some(n) if n == expected => format!("{n} (right)"),
        Some(n) => format!("{n} (WRONG, expected {expected})"),
        None => "failed".into(),
    };
    println!(
        "| {case} | {rows} | {:.2} | {:.0} | {:.1} | {} | {:.2} | {:.0} | {:.1} | {} | {:.2} |",
        z.0.seconds,
        rate(&z.0),
        z.0.peak_mib,
        found(z.1),
        r.0.seconds,
        rate(&r.0),
        r.0.peak_mib,
        found(r.1),
        rate(&z.0) / rate(&r.0)
    );
}

/// Freshly written tables: VACUUM sets their hint bits (and visibility map) first, or whichever
/// tool reads them first pays for writing those pages and the other one does not.
async fn settle(pg: &tokio_postgres::Client) -> anyhow::Result<()> {
    pg.batch_execute("VACUUM (ANALYZE) bench.t").await?;
    pg.batch_execute("VACUUM (ANALYZE) copy.t").await?;
    Ok(())
}

pub async fn run(rows: u64, zdm: Option<std::path::PathBuf>, tool: &str) -> anyhow::Result<()> {
    let zdm = zdm.unwrap_or_else(default_zdm);
    let src = source();
    fill_table(&src.url, rows, TABLE, false).await?;
    let my = format!("{}/bench", src.url);
    let db = TestDb::create().await;
    let moved = move_start(&zdm, &my, &db.url)?;
    anyhow::ensure!(moved.code == 0, "zdm move start failed");
    let pg = db.connect().await;
    pg.batch_execute("CREATE SCHEMA copy; CREATE TABLE copy.t (LIKE bench.t INCLUDING ALL); INSERT INTO copy.t SELECT * FROM bench.t").await?;
    settle(&pg).await?;
    let pgurl = db.url.replacen("postgres://", "postgresql://", 1);
    println!("\nverify, {rows} rows (one run; peak MiB of the tool's own process)\n");
    println!("| case | rows | zdm s | zdm rows/s | zdm MiB | zdm found | reladiff s | reladiff rows/s | reladiff MiB | reladiff found | zdm ÷ reladiff |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mysql_pg = |zdm: &std::path::Path| {
        zdm_verify(
            zdm,
            &[
                "move",
                "verify",
                "--rechecks",
                "0",
                "--source",
                &my,
                "--target",
                &db.url,
            ],
        )
    };
    let pg_pg = |zdm: &std::path::Path| {
        zdm_verify(
            zdm,
            &[
                "verify",
                "--rechecks",
                "0",
                "--source",
                &db.url,
                "--source-schema",
                "bench",
                "--target",
                &db.url,
                "--target-schema",
                "copy",
            ],
        )
    };
    line(
        "MySQL→PG equal",
        rows,
        &mysql_pg(&zdm)?,
        &reladiff(tool, &my, "t", &pgurl, "bench.t")?,
        0,
    );
    line(
        "PG→PG equal",
        rows,
        &pg_pg(&zdm)?,
        &reladiff(tool, &pgurl, "bench.t", &pgurl, "copy.t")?,
        0,
    );
    // One changed value, one missing row, one extra row, on the target of each comparison.
    pg.batch_execute(&format!(
        "UPDATE bench.t SET d = d + 0.01 WHERE id = {a}; DELETE FROM bench.t WHERE id = {b}; \
         INSERT INTO bench.t SELECT id + {rows}, a, s, d, ts, b, u FROM bench.t WHERE id = 1; \
         UPDATE copy.t SET ts = ts + interval '1 microsecond' WHERE id = {a}; DELETE FROM copy.t WHERE id = {c}; \
         INSERT INTO copy.t SELECT id + {rows} + 1, a, s, d, ts, b, u FROM copy.t WHERE id = 2",
        a = rows / 2,
        b = rows / 4,
        c = rows / 3
    ))
    .await?;
    settle(&pg).await?;
    line(
        "MySQL→PG 1 changed, 1 missing, 1 extra",
        rows,
        &mysql_pg(&zdm)?,
        &reladiff(tool, &my, "t", &pgurl, "bench.t")?,
        3,
    );
    line(
        "PG→PG 1 changed, 2 missing, 2 extra",
        rows,
        &pg_pg(&zdm)?,
        &reladiff(tool, &pgurl, "bench.t", &pgurl, "copy.t")?,
        5,
    );
    Ok(())
}
