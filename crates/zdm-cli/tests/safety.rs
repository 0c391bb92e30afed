//! Lock safety, crash recovery, secrets and TLS, against real PostgreSQL.

mod common;

use common::{state_of, to_run, Env};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test]
async fn blocked_ddl_retries_and_never_blocks_other_sessions_longer_than_the_lock_timeout() {
    let env = Env::new().await;
    let setup = env.db.connect().await;
    setup.batch_execute("CREATE TABLE hot (id int PRIMARY KEY, v int); INSERT INTO hot SELECT g, g FROM generate_series(1, 100) g;").await.unwrap();
    env.write("001_alter.sql", "ALTER TABLE hot ADD COLUMN extra int;");

    // A long transaction holds a lock that conflicts with ALTER TABLE's ACCESS EXCLUSIVE.
    let blocker = env.db.connect().await;
    blocker
        .batch_execute("BEGIN; SELECT count(*) FROM hot;")
        .await
        .unwrap();

    // A third session keeps reading the table and records its worst latency.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        let c = env.db.connect().await;
        tokio::spawn(async move {
            let mut worst = Duration::ZERO;
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                c.query_one("SELECT sum(v) FROM hot", &[]).await.unwrap();
                worst = worst.max(t.elapsed());
                n += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (worst, n)
        })
    };

    let zdm = env
        .command(&["migrate", "--lock-timeout", "200ms"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    blocker.batch_execute("COMMIT").await.unwrap();
    let r = to_run(
        tokio::task::spawn_blocking(move || zdm.wait_with_output().unwrap())
            .await
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.store(true, Ordering::Relaxed);
    let (worst, reads) = reader.await.unwrap();

    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(env.query_i64("SELECT count(*) FROM information_schema.columns WHERE table_name = 'hot' AND column_name = 'extra'").await, 1);
    let retries = env
        .events("001_alter")
        .await
        .into_iter()
        .filter(|m| m.contains("lock not available within 200 ms; retry"))
        .count();
    assert!(retries >= 2, "expected several retries, got {retries}");
    assert!(reads > 20, "the reader kept going ({reads} reads)");
    // Blocked at most for one lock_timeout (200 ms) plus scheduling slack.
    assert!(
        worst < Duration::from_millis(400),
        "a reader was blocked for {worst:?}"
    );
}

#[tokio::test]
async fn retries_are_bounded_and_leave_a_resumable_failure() {
    let env = Env::new().await;
    let setup = env.db.connect().await;
    setup
        .batch_execute("CREATE TABLE hot (id int)")
        .await
        .unwrap();
    env.write("001_alter.sql", "ALTER TABLE hot ADD COLUMN extra int;");
    let blocker = env.db.connect().await;
    blocker
        .batch_execute("BEGIN; LOCK TABLE hot IN ACCESS SHARE MODE;")
        .await
        .unwrap();
    let r = env
        .run(&["migrate", "--lock-timeout", "50ms", "--lock-retries", "3"])
        .await;
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stderr
            .contains("gave up waiting for locks after 3 attempts"),
        "{r:?}"
    );
    let status = env.status_json().await;
    assert_eq!(state_of(&status, "001_alter")["state"], "failed");
    assert_eq!(state_of(&status, "001_alter")["resumable"], true);
    blocker.batch_execute("COMMIT").await.unwrap();
    assert_eq!(env.run(&["migrate"]).await.code, 0);
}

#[tokio::test]
async fn kill_9_mid_migration_is_reported_and_resumed() {
    let env = Env::new().await;
    let c = env.db.connect().await;
    c.batch_execute("CREATE TABLE slow_flag (); CREATE TABLE steps (n int);")
        .await
        .unwrap();
    env.write(
        "001_steps.sql",
        "-- zdm:no-transaction\n\
         INSERT INTO steps VALUES (1);\n\
         SELECT pg_sleep(CASE WHEN to_regclass('slow_flag') IS NULL THEN 0 ELSE 30 END);\n\
         INSERT INTO steps VALUES (3);\n",
    );
    let mut zdm = env
        .command(&["migrate"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until statement 1 committed and statement 2 sleeps.
    let deadline = Instant::now() + Duration::from_secs(15);
    while env.query_i64("SELECT count(*) FROM steps").await == 0 {
        assert!(Instant::now() < deadline, "zdm never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    zdm.kill().unwrap(); // SIGKILL
    zdm.wait().unwrap();
    c.batch_execute("DROP TABLE slow_flag").await.unwrap();

    // The server notices the dead client (zdm sets client_connection_check_interval) and frees
    // the runner lock; status then calls the run interrupted.
    let deadline = Instant::now() + Duration::from_secs(10);
    let entry = loop {
        let status = env.status_json().await;
        let entry = state_of(&status, "001_steps");
        if entry["interrupted"] == true {
            break entry;
        }
        assert!(
            Instant::now() < deadline,
            "never reported as interrupted: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(entry["state"], "running");
    assert!(
        entry["next"].as_str().unwrap().contains("zdm migrate"),
        "{entry}"
    );
    let human = env.run(&["status"]).await;
    assert!(human.stdout.contains("running (interrupted)"), "{human:?}");

    let r = env.run(&["migrate"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("resumed and applied 001_steps"), "{r:?}");
    let c = env.db.connect().await;
    let rows: Vec<i32> = c
        .query("SELECT n FROM steps ORDER BY n", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(rows, [1, 3], "statement 1 ran once, statement 3 ran");
    let story = env.events("001_steps").await;
    assert!(
        story.iter().any(|m| m.contains("interrupted run")),
        "{story:?}"
    );
}

#[tokio::test]
async fn the_password_never_appears_in_any_output() {
    let env = Env::new().await;
    let secret = "Sup3rS3cretPw";
    env.write("001_a.sql", "CREATE TABLE a (id int);");
    let with_pw = env
        .db
        .url
        .replacen("postgres@", &format!("postgres:{secret}@"), 1);
    assert!(with_pw.contains(secret));
    let bad_port = with_pw.replacen(":5432/", ":1/", 1);
    let bad_syntax = with_pw.replacen(":5432/", ":notaport/", 1);
    let bad_db = common::Env::new()
        .await
        .db
        .url
        .replacen("postgres@", &format!("postgres:{secret}@"), 1)
        .replace("zdm_test_", "zdm_missing_");
    let mut outputs = Vec::new();
    for url in [&with_pw, &bad_port, &bad_syntax, &bad_db] {
        for args in [
            &["migrate", "-vv"][..],
            &["status", "--json"],
            &["history"],
            &["--log-format", "json", "-vv", "migrate"],
        ] {
            let mut cmd = env.command(args);
            cmd.env("DATABASE_URL", url);
            let r = to_run(
                tokio::task::spawn_blocking(move || cmd.output().unwrap())
                    .await
                    .unwrap(),
            );
            outputs.push(r);
        }
    }
    assert!(
        outputs.iter().any(|r| r.code == 6),
        "some of these must fail to connect"
    );
    assert!(
        outputs.iter().any(|r| r.code == 0),
        "and the good URL must work"
    );
    for r in &outputs {
        assert!(!r.all().contains(secret), "password leaked: {r:?}");
    }
}

#[tokio::test]
async fn sslmode_require_connects_over_tls() {
    let env = Env::new().await;
    let url = format!("{}?sslmode=require", env.db.url);
    let spec = zdm_pg::ConnectionSpec::parse(&url).unwrap();
    let c = spec
        .connect("zdm tls test")
        .await
        .expect("TLS connection (the server must have ssl = on)");
    let ssl: bool = c
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(ssl, "sslmode=require must encrypt");
    let plain = zdm_pg::ConnectionSpec::parse(&format!("{}?sslmode=disable", env.db.url))
        .unwrap()
        .connect("zdm plain")
        .await
        .unwrap();
    let ssl: bool = plain
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!ssl);
    // verify-full against the server's self-signed certificate with the system roots must fail.
    let strict = zdm_pg::ConnectionSpec::parse(&format!("{}?sslmode=verify-full", env.db.url))
        .unwrap()
        .connect("zdm strict")
        .await;
    assert!(
        strict.is_err(),
        "a self-signed server certificate must not pass verify-full"
    );
    // And the CLI works over TLS too.
    let mut cmd = env.command(&["init"]);
    cmd.env("DATABASE_URL", &url);
    let r = to_run(
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap(),
    );
    assert_eq!(r.code, 0, "{r:?}");
}

#[tokio::test]
async fn json_log_format_streams_the_audit_events() {
    let env = Env::new().await;
    env.write("001_a.sql", "CREATE TABLE a (id int);");
    let r = env.run(&["--log-format", "json", "migrate"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let lines: Vec<serde_json::Value> = r
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["migration"] == "001_a"
            && l["message"] == "applied"
            && l["phase"] == "apply"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn all_pgroll_examples_parse_and_validate() {
    let env = Env::new().await;
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/compat/pgroll-examples"
    );
    let r = env.run(&["validate", "--dir", dir]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("56 migrations valid"), "{r:?}");
}
