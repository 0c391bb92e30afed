//! The backfill throttles like gh-ost: on a real streaming standby's replay lag, on the manual
//! switch in the ledger (`zdm throttle on|off`), on a flag file and on the user's query. While
//! throttled no batch runs; each episode is an event with its cause and its time is counted.

mod common;

use common::{state_of, Env};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_postgres::Client;
use zdm_testkit::standby::PrimaryWithStandby;

const ROWS: i64 = 60_000;
const MIGRATION: &str = "operations:\n  - alter_column:\n      table: items\n      column: v\n      type: bigint\n      up: CAST(v AS bigint)\n      down: CAST(v AS integer)\n";

async fn connect(url: &str) -> Client {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    c
}

fn spawn_start(url: &str, dir: &std::path::Path, extra: &[&str]) -> Child {
    let file = dir.join("02_widen.yaml");
    std::fs::write(&file, MIGRATION).unwrap();
    Command::new(common::zdm_bin())
        .env("DATABASE_URL", url)
        .env("ZDM_DIR", dir)
        .args([
            "start",
            file.to_str().unwrap(),
            "--batch-target",
            "5ms",
            "--batch-delay",
            "5ms",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn rows_done(c: &Client) -> i64 {
    c.query_one(
        "SELECT coalesce(max(rows_done), 0) FROM zdm.backfill_progress WHERE migration_id = '02_widen'",
        &[],
    )
    .await
    .map(|r| r.get(0))
    .unwrap_or(0)
}

async fn events(c: &Client) -> Vec<String> {
    c.query(
        "SELECT message FROM zdm.events WHERE migration_id = '02_widen' ORDER BY id",
        &[],
    )
    .await
    .map(|rows| rows.iter().map(|r| r.get(0)).collect())
    .unwrap_or_default()
}

/// Wait until an event contains `text`, then check no batch runs for a second.
async fn held_back(c: &Client, zdm: &mut Child, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !events(c).await.iter().any(|m| m.contains(text)) {
        assert!(
            Instant::now() < deadline,
            "never throttled on `{text}`: {:?}",
            events(c).await
        );
        assert!(
            zdm.try_wait().unwrap().is_none(),
            "zdm ended before it throttled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = rows_done(c).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        rows_done(c).await,
        before,
        "batches ran while throttled on `{text}`"
    );
    assert!(before < ROWS, "the backfill finished before it was held");
}

async fn finishes(mut zdm: Child) {
    let out = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = zdm.try_wait().unwrap() {
                let mut err = String::new();
                use std::io::Read;
                zdm.stderr.take().unwrap().read_to_string(&mut err).unwrap();
                return (status, err);
            }
            if Instant::now() > deadline {
                zdm.kill().unwrap();
                panic!("zdm did not finish once the throttle was lifted");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    assert!(out.0.success(), "{}", out.1);
}

async fn throttled_seconds(c: &Client, cause: &str) -> f64 {
    c.query_one(
        "SELECT coalesce(sum((throttled_seconds ->> $1)::float8), 0) FROM zdm.backfill_progress WHERE migration_id = '02_widen'",
        &[&cause],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_standby_with_replay_paused_holds_the_backfill_until_it_replays() {
    let pair = PrimaryWithStandby::start(Duration::ZERO);
    let primary = connect(&pair.primary_url).await;
    primary
        .batch_execute(&format!(
            "CREATE TABLE items (id serial PRIMARY KEY, v int); INSERT INTO items (v) SELECT g FROM generate_series(1, {ROWS}) g"
        ))
        .await
        .unwrap();
    let standby = connect(&pair.standby_url).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready: bool = standby
            .query_one("SELECT to_regclass('public.items') IS NOT NULL", &[])
            .await
            .unwrap()
            .get(0);
        if ready {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the standby never replayed the setup"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    standby
        .batch_execute("SELECT pg_wal_replay_pause()")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut zdm = spawn_start(&pair.primary_url, dir.path(), &["--max-replica-lag", "1s"]);
    held_back(&primary, &mut zdm, "behind (limit 1.0s)").await;
    standby
        .batch_execute("SELECT pg_wal_replay_resume()")
        .await
        .unwrap();
    finishes(zdm).await;
    assert!(
        throttled_seconds(&primary, "replica_lag").await >= 1.0,
        "{:?}",
        events(&primary).await
    );
    assert!(events(&primary)
        .await
        .iter()
        .any(|m| m.contains("goes on after")));
    assert_eq!(rows_done(&primary).await, ROWS);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_manual_switch_a_flag_file_and_a_query_hold_the_backfill() {
    // Manual switch, through the ledger.
    let env = Env::new().await;
    let c = env.db.connect().await;
    c.batch_execute(&format!(
        "CREATE TABLE items (id serial PRIMARY KEY, v int); INSERT INTO items (v) SELECT g FROM generate_series(1, {ROWS}) g; \
         CREATE TABLE hold (x int); INSERT INTO hold VALUES (1)"
    ))
    .await
    .unwrap();
    let r = env
        .run(&["throttle", "on", "--reason", "end of month"])
        .await;
    assert_eq!(r.code, 0, "{r:?}");
    let mut zdm = spawn_start(&env.db.url, env.dir(), &[]);
    held_back(&c, &mut zdm, "throttled: zdm throttle on (end of month)").await;
    let r = env.run(&["throttle", "off"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    finishes(zdm).await;
    assert!(throttled_seconds(&c, "manual").await >= 1.0);
    assert_eq!(
        state_of(&env.status_json().await, "02_widen")["state"],
        "expanded"
    );
    let r = env.run(&["rollback"]).await;
    assert_eq!(r.code, 0, "{r:?}");

    // A flag file.
    let flag = env.dir().join("hold.flag");
    std::fs::write(&flag, "").unwrap();
    let mut zdm = spawn_start(
        &env.db.url,
        env.dir(),
        &["--throttle-flag-file", flag.to_str().unwrap()],
    );
    held_back(&c, &mut zdm, "hold.flag exists").await;
    std::fs::remove_file(&flag).unwrap();
    finishes(zdm).await;
    assert!(throttled_seconds(&c, "flag_file").await >= 1.0);
    let r = env.run(&["rollback"]).await;
    assert_eq!(r.code, 0, "{r:?}");

    // The user's query.
    let mut zdm = spawn_start(
        &env.db.url,
        env.dir(),
        &["--throttle-query", "SELECT EXISTS (SELECT FROM hold)"],
    );
    held_back(&c, &mut zdm, "the throttle query returned true").await;
    c.batch_execute("DELETE FROM hold").await.unwrap();
    finishes(zdm).await;
    assert!(throttled_seconds(&c, "query").await >= 1.0);
    assert_eq!(
        state_of(&env.status_json().await, "02_widen")["state"],
        "expanded"
    );
}
