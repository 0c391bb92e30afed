//! The foundation's acceptance tests, each against a real PostgreSQL database of its own.

mod common;

use common::{state_of, to_run, Env};
use std::time::{Duration, Instant};

#[tokio::test]
async fn init_twice_is_a_no_op() {
    let env = Env::new().await;
    let first = env.run(&["init"]).await;
    assert_eq!(first.code, 0, "{first:?}");
    assert!(first.stdout.contains("created ledger"), "{first:?}");
    let second = env.run(&["init", "--json"]).await;
    assert_eq!(second.code, 0, "{second:?}");
    let v: serde_json::Value = serde_json::from_str(&second.stdout).unwrap();
    assert!(v.get("UpToDate").is_some(), "{v}");
    assert_eq!(
        env.query_i64("SELECT count(*) FROM zdm.ledger_version")
            .await,
        1
    );
}

#[tokio::test]
async fn applies_in_order_records_everything_and_skips_applied() {
    let env = Env::new().await;
    env.write("001_a.sql", "CREATE TABLE a (id int PRIMARY KEY);");
    env.write(
        "002_b.sql",
        "CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a (id));",
    );
    let r = env.run(&["migrate"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("applied 001_a") && r.stdout.contains("applied 002_b"),
        "{r:?}"
    );
    let again = env.run(&["migrate"]).await;
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        again
            .stdout
            .contains("nothing to apply (2 migrations already applied)"),
        "{again:?}"
    );

    let status = env.status_json().await;
    let b = state_of(&status, "002_b");
    assert_eq!(b["state"], "completed");
    assert_eq!(b["kind"], "sql");
    assert!(
        b["applied_by"].as_str().unwrap().starts_with("postgres@"),
        "{b}"
    );
    let c = env.db.connect().await;
    let row = c
        .query_one("SELECT parent, checksum, zdm_version, started_at <= completed_at FROM zdm.migrations WHERE id = '002_b'", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some("001_a"));
    assert_eq!(
        row.get::<_, String>(1),
        zdm_core::source::checksum(
            b"CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a (id));"
        )
    );
    assert_eq!(row.get::<_, String>(2), env!("CARGO_PKG_VERSION"));
    assert!(row.get::<_, bool>(3));
}

#[tokio::test]
async fn a_second_runner_fails_at_once_with_the_lock_error() {
    let env = Env::new().await;
    // A migration slow enough that both runners overlap.
    env.write("001_slow.sql", "CREATE TABLE once (id int PRIMARY KEY);\nSELECT pg_sleep(4);\nINSERT INTO once VALUES (1);");
    let first = env
        .command(&["migrate"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first runner holds the lock.
    let c = env.db.connect().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let held: i64 = c
            .query_one("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int4::oid AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", &[&zdm_pg::runner_lock::LOCK_CLASS])
            .await
            .unwrap()
            .get(0);
        if held > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "first runner never took the lock"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    let second = env.run(&["migrate"]).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the second runner must not wait for the first (which holds the lock for 4 s)"
    );
    assert_eq!(second.code, 4, "{second:?}");
    assert!(
        second.stderr.contains("another zdm runner holds the lock"),
        "{second:?}"
    );
    assert!(
        second.stderr.contains("backend pid") && second.stderr.contains("zdm migrate@"),
        "{second:?}"
    );
    let first = to_run(
        tokio::task::spawn_blocking(move || first.wait_with_output().unwrap())
            .await
            .unwrap(),
    );
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(env.query_i64("SELECT count(*) FROM once").await, 1);
    assert_eq!(
        env.query_i64("SELECT count(*) FROM zdm.migrations").await,
        1
    );
    assert_eq!(
        env.events("001_slow")
            .await
            .iter()
            .filter(|m| m.starts_with("started"))
            .count(),
        1
    );
}

#[tokio::test]
async fn a_failed_migration_is_recorded_and_resumes_once_fixed() {
    let env = Env::new().await;
    env.write("001_ok.sql", "CREATE TABLE ok (id int);");
    env.write(
        "002_bad.sql",
        "CREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\nSELECT 1/0;\n",
    );
    env.write("003_later.sql", "CREATE TABLE later (id int);");
    let r = env.run(&["migrate"]).await;
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stderr.contains("002_bad.sql:3:"),
        "error points at the statement: {r:?}"
    );
    assert!(r.stderr.contains("division by zero"), "{r:?}");

    let status = env.status_json().await;
    let bad = state_of(&status, "002_bad");
    assert_eq!(bad["state"], "failed");
    assert_eq!(bad["failed_phase"], "apply");
    assert_eq!(bad["resumable"], true);
    assert!(bad["last_error"]
        .as_str()
        .unwrap()
        .contains("division by zero"));
    assert_eq!(
        state_of(&status, "003_later")["state"],
        "pending",
        "stops at the first failure"
    );
    // The failed transaction left nothing behind.
    assert_eq!(
        env.query_i64("SELECT count(*) FROM pg_tables WHERE tablename = 'half'")
            .await,
        0
    );

    env.write(
        "002_bad.sql",
        "CREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\nSELECT 1/1;\n",
    );
    let r = env.run(&["migrate"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("resumed and applied 002_bad"), "{r:?}");
    assert_eq!(env.query_i64("SELECT count(*) FROM half").await, 1);
    let status = env.status_json().await;
    assert_eq!(state_of(&status, "002_bad")["state"], "completed");
    assert_eq!(state_of(&status, "003_later")["state"], "completed");

    let story = env.events("002_bad").await;
    let expected = [
        "started",
        "failed:",
        "started again (was failed)",
        "applied",
    ];
    assert_eq!(story.len(), expected.len(), "{story:?}");
    for (msg, want) in story.iter().zip(expected) {
        assert!(msg.starts_with(want), "{story:?}");
    }
}

#[tokio::test]
async fn statement_by_statement_migration_resumes_after_the_last_committed_statement() {
    let env = Env::new().await;
    env.write("001_setup.sql", "CREATE TABLE counter (n int);");
    env.write(
        "002_steps.sql",
        "-- zdm:no-transaction\nINSERT INTO counter VALUES (1);\nCREATE INDEX CONCURRENTLY counter_n ON counter (n);\nSELECT missing_column FROM counter;\n",
    );
    let r = env.run(&["migrate"]).await;
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stderr.contains("002_steps.sql:4:8"),
        "points at the column: {r:?}"
    );
    env.write(
        "002_steps.sql",
        "-- zdm:no-transaction\nINSERT INTO counter VALUES (1);\nCREATE INDEX CONCURRENTLY counter_n ON counter (n);\nSELECT n FROM counter;\n",
    );
    let r = env.run(&["migrate"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        env.query_i64("SELECT count(*) FROM counter").await,
        1,
        "statement 1 must not run twice"
    );
    assert!(env
        .events("002_steps")
        .await
        .iter()
        .any(|m| m == "resuming at statement 3 of 3"));

    // Editing an already-applied statement of an unfinished run is refused.
    env.write(
        "003_more.sql",
        "-- zdm:no-transaction\nINSERT INTO counter VALUES (2);\nSELECT nope;\n",
    );
    assert_eq!(env.run(&["migrate"]).await.code, 5);
    env.write(
        "003_more.sql",
        "-- zdm:no-transaction\nINSERT INTO counter VALUES (3);\nSELECT 1;\n",
    );
    let r = env.run(&["migrate"]).await;
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stderr
            .contains("already applied and the file has changed"),
        "{r:?}"
    );
}

#[tokio::test]
async fn edited_applied_files_are_refused_until_repaired() {
    let env = Env::new().await;
    env.write("001_a.sql", "CREATE TABLE a (id int);");
    assert_eq!(env.run(&["migrate"]).await.code, 0);
    env.write("001_a.sql", "CREATE TABLE a (id bigint);");
    env.write("002_b.sql", "CREATE TABLE b (id int);");
    let v = env.run(&["validate"]).await;
    assert_eq!(v.code, 3, "{v:?}");
    assert!(
        v.stderr.contains("001_a: file edited after it was applied"),
        "{v:?}"
    );
    let m = env.run(&["migrate"]).await;
    assert_eq!(m.code, 3, "{m:?}");
    assert_eq!(
        env.query_i64("SELECT count(*) FROM pg_tables WHERE tablename = 'b'")
            .await,
        0,
        "nothing applied"
    );
    let status = env.status_json().await;
    assert_eq!(state_of(&status, "001_a")["file_modified"], true);

    let r = env.run(&["repair"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("accepted the edited file of 001_a"),
        "{r:?}"
    );
    assert!(env
        .events("001_a")
        .await
        .iter()
        .any(|m| m.starts_with("repair: accepted")));
    assert_eq!(env.run(&["validate"]).await.code, 0);
    assert_eq!(env.run(&["migrate"]).await.code, 0);
}

#[tokio::test]
async fn malformed_files_are_reported_with_position_and_nothing_is_applied() {
    let cases: &[(&str, &str, &str)] = &[
        ("002_bad.yaml", "operations:\n  - create_table:\n      name: t\n      columns: [\n", "002_bad.yaml:"),
        ("002_bad.json", "{\"operations\": [\n  {\"create_table\": {\"name\": \"t\",}}\n]}", "002_bad.json:2:"),
        ("002_bad.yaml", "operations:\n  - explode_table:\n      name: t\n", "002_bad.yaml:2:"),
        (
            "002_bad.yaml",
            "operations:\n  - create_table:\n      name: t\n      columns:\n        - name: id\n          type: int\n          colour: red\n",
            "002_bad.yaml:7:",
        ),
    ];
    for (name, body, position) in cases {
        let env = Env::new().await;
        env.write("001_first.sql", "CREATE TABLE first (id int);");
        env.write(name, body);
        for cmd in ["validate", "migrate"] {
            let r = env.run(&[cmd]).await;
            assert_eq!(r.code, 3, "{name} {cmd}: {r:?}");
            assert!(
                r.stderr.contains(position),
                "{name} {cmd}: expected {position} in {r:?}"
            );
        }
        assert_eq!(
            env.query_i64("SELECT count(*) FROM pg_tables WHERE tablename = 'first'")
                .await,
            0,
            "{name}"
        );
    }
}

#[tokio::test]
async fn rollback_runs_the_down_file_and_refuses_without_one() {
    let env = Env::new().await;
    env.write("001_a.sql", "CREATE TABLE a (id int);");
    env.write("001_a.down.sql", "DROP TABLE a;");
    env.write("002_b.sql", "CREATE TABLE b (id int);");
    assert_eq!(env.run(&["migrate"]).await.code, 0);
    let r = env.run(&["rollback"]).await;
    assert_eq!(r.code, 7, "002_b has no down file: {r:?}");
    assert!(r.stderr.contains("002_b has no rollback file"), "{r:?}");
    let r = env.run(&["rollback", "001_a"]).await;
    assert_eq!(r.code, 7, "only the last one: {r:?}");

    std::fs::remove_file(env.dir().join("002_b.sql")).unwrap();
    env.write("002_b.sql", "CREATE TABLE b (id int);");
    env.write("002_b.down.sql", "DROP TABLE b;");
    let r = env.run(&["rollback"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let r = env.run(&["rollback"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        env.query_i64("SELECT count(*) FROM pg_tables WHERE tablename IN ('a', 'b')")
            .await,
        0
    );
    let status = env.status_json().await;
    assert_eq!(state_of(&status, "001_a")["state"], "rolled_back");
    // A rolled-back migration is applied again by migrate.
    assert_eq!(env.run(&["migrate"]).await.code, 0);
    assert_eq!(
        env.query_i64("SELECT count(*) FROM pg_tables WHERE tablename IN ('a', 'b')")
            .await,
        2
    );
}

#[tokio::test]
async fn baseline_records_an_existing_database() {
    let env = Env::new().await;
    let c = env.db.connect().await;
    c.batch_execute("CREATE TABLE legacy (id int)")
        .await
        .unwrap();
    env.write("001_legacy.sql", "CREATE TABLE legacy (id int);");
    env.write("002_new.sql", "ALTER TABLE legacy ADD COLUMN name text;");
    let r = env.run(&["baseline", "001_legacy"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let r = env.run(&["migrate"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        !r.stdout.contains("001_legacy") && r.stdout.contains("applied 002_new"),
        "{r:?}"
    );
    let status = env.status_json().await;
    assert_eq!(state_of(&status, "001_legacy")["baselined"], true);
    let r = env.run(&["baseline", "001_legacy"]).await;
    assert_eq!(
        r.code, 7,
        "cannot baseline behind applied migrations: {r:?}"
    );
}

#[tokio::test]
async fn new_creates_timestamped_files_that_validate() {
    let env = Env::new().await;
    let r = env.run(&["new", "add_users"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let name = std::path::Path::new(r.stdout.trim())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.ends_with("_add_users.yaml") && name.len() == "YYYYMMDDHHMMSS_add_users.yaml".len(),
        "{name}"
    );
    let r = env.run(&["new", "raw", "--sql"]).await;
    assert!(r.stdout.trim().ends_with("_raw.sql"), "{r:?}");
    let v = env.run(&["validate"]).await;
    assert_eq!(v.code, 0, "{v:?}");
}

#[tokio::test]
async fn history_tells_the_story_in_order_as_json() {
    let env = Env::new().await;
    env.write("001_a.sql", "CREATE TABLE a (id int);");
    assert_eq!(env.run(&["migrate"]).await.code, 0);
    let r = env
        .run(&["history", "--json", "--migration", "001_a"])
        .await;
    assert_eq!(r.code, 0, "{r:?}");
    let events: Vec<serde_json::Value> = serde_json::from_str(&r.stdout).unwrap();
    let messages: Vec<&str> = events
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["started", "applied"]);
    let c = env.db.connect().await;
    let err = c.batch_execute("DELETE FROM zdm.events").await.unwrap_err();
    assert!(err.as_db_error().unwrap().message().contains("append-only"));
}

#[tokio::test]
async fn an_impossible_change_is_refused_before_anything_runs() {
    let env = Env::new().await;
    env.write("001_a.sql", "CREATE TABLE a (id int PRIMARY KEY);");
    env.write(
        "002_bad.yaml",
        "operations:\n  - alter_column:\n      table: missing_table\n      column: c\n      type: bigint\n      up: c\n      down: c\n",
    );
    let r = env.run(&["migrate"]).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr
            .contains("operation 0 (alter_column): table `missing_table` does not exist"),
        "{r:?}"
    );
    assert_eq!(
        state_of(&env.status_json().await, "002_bad")["state"],
        "pending"
    );
    let plan = env
        .run(&["plan", env.dir().join("002_bad.yaml").to_str().unwrap()])
        .await;
    assert_eq!(plan.code, 3, "{plan:?}");
}
