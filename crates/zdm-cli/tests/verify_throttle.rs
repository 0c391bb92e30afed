//! `zdm verify` throttled: key ranges sized to a scan target with pauses between them, and a
//! real streaming standby whose replay lag (a delayed standby) holds the scan back until it
//! has caught up. Results stay exact either way.

mod common;

use common::{to_run, zdm_bin};
use std::process::Command;
use std::time::{Duration, Instant};
use zdm_testkit::standby::PrimaryWithStandby;
use zdm_testkit::TestDb;

fn verify(args: &[&str]) -> (i32, serde_json::Value) {
    let r = to_run(
        Command::new(zdm_bin())
            .arg("verify")
            .arg("--json")
            .args(args)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap(),
    );
    let v = serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("{r:?}"));
    (r.code, v)
}

const SETUP: &str = "CREATE SCHEMA a; CREATE SCHEMA b; \
    CREATE TABLE a.t (id int PRIMARY KEY, v text, at timestamptz); \
    INSERT INTO a.t SELECT g, 'v' || g, '2024-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 60000) g; \
    CREATE TABLE b.t (LIKE a.t INCLUDING ALL); INSERT INTO b.t SELECT * FROM a.t";

#[tokio::test(flavor = "multi_thread")]
async fn scan_target_and_pause_throttle_and_stay_exact() {
    let db = TestDb::create().await;
    let c = db.connect().await;
    c.batch_execute(SETUP).await.unwrap();
    let common = [
        "--rechecks",
        "0",
        "--source",
        &db.url,
        "--source-schema",
        "a",
        "--target",
        &db.url,
        "--target-schema",
        "b",
    ];
    let throttled = [&common[..], &["--scan-target", "20ms", "--pause", "50ms"]].concat();
    let began = Instant::now();
    let (code, rep) = verify(&throttled);
    let took = began.elapsed();
    assert_eq!(code, 0, "{rep:#}");
    let waited = rep["throttled_seconds"].as_f64().unwrap();
    // At least a few ranges (the first is 10,000 keys), each followed by its pause.
    assert!(waited >= 0.1, "throttled only {waited} s: {rep:#}");
    assert!(took.as_secs_f64() >= waited);
    c.batch_execute("UPDATE b.t SET v = 'changed' WHERE id = 45678; DELETE FROM b.t WHERE id = 3")
        .await
        .unwrap();
    let (code, rep) = verify(&throttled);
    assert_eq!(code, 1, "{rep:#}");
    assert_eq!(rep["tables"][0]["difference_count"], 2, "{rep:#}");
    // Unthrottled gives the same answer.
    let (code, rep2) = verify(&common);
    assert_eq!(code, 1);
    assert_eq!(
        rep2["tables"][0]["differences"],
        rep["tables"][0]["differences"]
    );
    assert_eq!(rep2["throttled_seconds"], 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lagging_standby_holds_the_scan_back_until_it_replays() {
    let pair = PrimaryWithStandby::start(Duration::from_secs(3));
    let (primary, _conn) = tokio_postgres::connect(&pair.primary_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(_conn);
    primary.batch_execute(SETUP).await.unwrap();
    let (standby, conn) = tokio_postgres::connect(&pair.standby_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    // Wait until the standby has replayed the setup, then write once more: for the next 3 s
    // the standby has WAL it has not applied.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let caught_up: bool = standby
            .query_one("SELECT to_regclass('b.t') IS NOT NULL AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()", &[])
            .await
            .unwrap()
            .get(0);
        if caught_up {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the standby never replayed the setup"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    primary
        .batch_execute("CREATE TABLE c (x int); INSERT INTO c VALUES (1)")
        .await
        .unwrap();
    loop {
        let behind: bool = standby
            .query_one(
                "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if behind {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let began = Instant::now();
    let (code, rep) = verify(&[
        "--rechecks",
        "0",
        "--source",
        &pair.primary_url,
        "--source-schema",
        "a",
        "--target",
        &pair.primary_url,
        "--target-schema",
        "b",
        "--scan-target",
        "50ms",
        "--max-replica-lag",
        "1s",
        "--replica",
        &pair.standby_url,
    ]);
    assert_eq!(code, 0, "{rep:#}");
    assert!(
        rep["replica_waits"].as_u64().unwrap() >= 1,
        "never waited: {rep:#}"
    );
    assert!(
        rep["throttled_seconds"].as_f64().unwrap() >= 1.0,
        "waited too little for a 3 s apply delay: {rep:#}"
    );
    assert!(began.elapsed() >= Duration::from_secs(1));
    // Replayed now: the standby sees the last write.
    let n: i64 = standby
        .query_one("SELECT count(*) FROM c", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}
