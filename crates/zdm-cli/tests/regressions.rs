//! Regressions an outside check found in the engine: concurrent index builds that ended INVALID
//! yet were reported done, and `zdm latest url` unusable by libpq clients.

mod common;

use common::{state_of, Env};
use std::time::Duration;

async fn index_valid(env: &Env, name: &str) -> Option<bool> {
    let c = env.db.connect().await;
    c.query_opt("SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1", &[&name])
        .await
        .unwrap()
        .map(|r| r.get(0))
}

#[tokio::test(flavor = "multi_thread")]
async fn create_index_with_a_long_transaction_open_ends_with_a_valid_index() {
    let env = Env::new().await;
    let c = env.db.connect().await;
    c.batch_execute("CREATE TABLE fruits (id int PRIMARY KEY, name text); INSERT INTO fruits SELECT g, 'f' || g FROM generate_series(1, 20000) g; CREATE TABLE other (x int)")
        .await
        .unwrap();
    let file = env.write("01_index.yaml", "operations:\n  - create_index:\n      name: idx_fruits_name\n      table: fruits\n      columns:\n        - column: name\n");
    // A REPEATABLE READ report holds its snapshot: CREATE INDEX CONCURRENTLY must wait for it,
    // and with a 50 ms lock timeout it gives up, leaving the index INVALID.
    let holder = env.db.connect().await;
    holder
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM other")
        .await
        .unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        holder.batch_execute("COMMIT").await.unwrap();
    });
    let r = env
        .run(&[
            "start",
            file.to_str().unwrap(),
            "--lock-timeout",
            "50ms",
            "--lock-retries",
            "100",
        ])
        .await;
    release.await.unwrap();
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        index_valid(&env, "idx_fruits_name").await,
        Some(true),
        "expanded with an invalid index: {r:?}"
    );
    let status = env.status_json().await;
    assert_eq!(state_of(&status, "01_index")["state"], "expanded");
    let retries: Vec<String> = env
        .events("01_index")
        .await
        .into_iter()
        .filter(|m| m.contains("lock"))
        .collect();
    assert!(
        !retries.is_empty(),
        "the build never had to wait: the test did not reproduce the timeout"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_migration_concurrent_index_left_invalid_is_rebuilt() {
    let env = Env::new().await;
    let c = env.db.connect().await;
    c.batch_execute("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 20000) g; CREATE TABLE other (x int)").await.unwrap();
    // An earlier attempt left an INVALID index with the name this migration builds.
    c.batch_execute("INSERT INTO t VALUES (20001, 1), (20002, 1)")
        .await
        .unwrap();
    let failed = c
        .batch_execute("CREATE UNIQUE INDEX CONCURRENTLY t_v_idx ON t (v)")
        .await;
    assert!(failed.is_err());
    assert_eq!(index_valid(&env, "t_v_idx").await, Some(false));
    c.batch_execute("DELETE FROM t WHERE id > 20000")
        .await
        .unwrap();
    env.write(
        "001_idx.sql",
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_v_idx ON t (v);",
    );
    let r = env.run(&["migrate"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        index_valid(&env, "t_v_idx").await,
        Some(true),
        "IF NOT EXISTS skipped the invalid index"
    );
}

/// `zdm latest url` works with libpq clients (psql here) for a version schema with capitals.
#[tokio::test(flavor = "multi_thread")]
async fn latest_url_connects_with_psql_for_a_mixed_case_version_schema() {
    let env = Env::new().await;
    let file = env.write(
        "01_Create_Users.yaml",
        "operations:\n  - create_table:\n      name: users\n      columns:\n        - name: id\n          type: serial\n          pk: true\n        - name: name\n          type: text\n",
    );
    let r = env.run(&["start", file.to_str().unwrap()]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let schema = env
        .run(&["latest", "schema"])
        .await
        .stdout
        .trim()
        .to_string();
    assert!(
        schema.chars().any(|c| c.is_ascii_uppercase()),
        "expected capitals in {schema}"
    );
    let url = env.run(&["latest", "url"]).await.stdout.trim().to_string();
    assert!(!url.contains('+'), "{url}");
    let out = std::process::Command::new("psql")
        .args([
            url.as_str(),
            "-Atc",
            "SELECT (current_schemas(false))[1], count(*) FROM users",
        ])
        .output()
        .expect("psql");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "psql failed: {stderr} (url {url})");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{schema}|0")
    );
}

/// `zdm history | head -1` ends quietly on the closed pipe.
#[tokio::test(flavor = "multi_thread")]
async fn a_closed_pipe_ends_output_quietly() {
    let env = Env::new().await;
    assert_eq!(env.run(&["init"]).await.code, 0);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' history | head -c0; '{}' --help | head -c0",
            common::zdm_bin(),
            common::zdm_bin()
        ))
        .env("DATABASE_URL", &env.db.url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
}

/// A lock timeout of 0 would mean "wait forever": refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_zero_lock_timeout_is_refused() {
    let env = Env::new().await;
    for v in ["0", "0ms", "500us"] {
        let r = env.run(&["--lock-timeout", v, "status"]).await;
        assert_eq!(r.code, 2, "{v}: {r:?}");
        assert!(r.stderr.contains("would disable lock timeouts"), "{r:?}");
    }
}

/// Rolling back a `sql` operation never drops a table that existed before the migration.
#[tokio::test(flavor = "multi_thread")]
async fn rollback_of_sql_keeps_a_table_that_existed_before() {
    let env = Env::new().await;
    let c = env.db.connect().await;
    c.batch_execute("CREATE TABLE \"Keep Me\" (id int); INSERT INTO \"Keep Me\" VALUES (1), (2)")
        .await
        .unwrap();
    let file = env.write(
        "01_ensure.yaml",
        "operations:\n  - sql:\n      up: CREATE TABLE IF NOT EXISTS \"Keep Me\" (id int); CREATE TABLE IF NOT EXISTS brand_new (id int)\n",
    );
    let r = env.run(&["start", file.to_str().unwrap()]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let r = env.run(&["rollback"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        env.query_i64("SELECT count(*) FROM \"Keep Me\"").await,
        2,
        "the existing table lost its rows"
    );
    assert_eq!(
        env.query_i64("SELECT count(*) FROM pg_class WHERE relname = 'brand_new'")
            .await,
        0,
        "what the migration created stays behind"
    );
}

/// `zdm lint` lints a directory holding a file with BEGIN/COMMIT (reporting them), as it does
/// the same file named on the command line; `zdm migrate` still refuses the file.
#[tokio::test(flavor = "multi_thread")]
async fn lint_reads_a_directory_with_explicit_transactions() {
    let env = Env::new().await;
    env.write(
        "001_tx.sql",
        "BEGIN;\nCREATE TABLE t (id bigint PRIMARY KEY);\nCOMMIT;\n",
    );
    let r = env.run(&["lint", "--format", "json"]).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("tx-nesting"), "{r:?}");
    let named = env
        .run(&[
            "lint",
            "--format",
            "json",
            env.dir().join("001_tx.sql").to_str().unwrap(),
        ])
        .await;
    assert_eq!(named.code, 1, "{named:?}");
    let r = env.run(&["migrate"]).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("001_tx.sql:1:1"), "{r:?}");
}

/// Writes through a version schema's views get the columns' defaults for DEFAULT.
#[tokio::test(flavor = "multi_thread")]
async fn version_views_carry_the_column_defaults() {
    let env = Env::new().await;
    let c = env.db.connect().await;
    c.batch_execute("CREATE TABLE items (id serial PRIMARY KEY, status text NOT NULL DEFAULT 'new', n int DEFAULT 7)").await.unwrap();
    let file = env.write("01_add_note.yaml", "operations:\n  - add_column:\n      table: items\n      column:\n        name: note\n        type: text\n        nullable: true\n        default: \"'none'\"\n");
    let r = env.run(&["start", file.to_str().unwrap()]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let vs = env
        .run(&["latest", "schema"])
        .await
        .stdout
        .trim()
        .to_string();
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    c.batch_execute(&format!(
        "INSERT INTO {}.items (id, status, n, note) VALUES (DEFAULT, DEFAULT, DEFAULT, DEFAULT)",
        q(&vs)
    ))
    .await
    .unwrap();
    c.batch_execute(&format!("UPDATE {}.items SET n = 1", q(&vs)))
        .await
        .unwrap();
    c.batch_execute(&format!("UPDATE {}.items SET n = DEFAULT", q(&vs)))
        .await
        .unwrap();
    let row = c
        .query_one(
            &format!("SELECT id, status, n, note FROM {}.items", q(&vs)),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            row.get::<_, i32>(0),
            row.get::<_, String>(1),
            row.get::<_, i32>(2),
            row.get::<_, Option<String>>(3)
        ),
        (1, "new".to_string(), 7, Some("none".to_string()))
    );
}

/// A type change whose old default does not fit the new type drops the default (as pgroll).
#[tokio::test(flavor = "multi_thread")]
async fn type_change_drops_a_default_that_does_not_fit() {
    let env = Env::new().await;
    let c = env.db.connect().await;
    c.batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text DEFAULT 'abc'); INSERT INTO t VALUES (1, '12'), (2, 'x')").await.unwrap();
    let file = env.write(
        "01_v_int.yaml",
        "operations:\n  - alter_column:\n      table: t\n      column: v\n      type: integer\n      up: \"CASE WHEN v ~ '^[0-9]+$' THEN v::integer END\"\n      down: v::text\n",
    );
    let r = env.run(&["start", file.to_str().unwrap()]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let r = env.run(&["complete"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let row = c.query_one("SELECT format_type(atttypid, atttypmod), pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = 't'::regclass AND a.attname = 'v'", &[]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), "integer");
    assert_eq!(row.get::<_, Option<String>>(1), None);
    assert_eq!(
        env.query_i64("SELECT count(*) FROM t WHERE v = 12").await,
        1
    );
}

/// `no_inherit` on an alter_column check is honoured.
#[tokio::test(flavor = "multi_thread")]
async fn alter_column_check_no_inherit_is_honoured() {
    let env = Env::new().await;
    let c = env.db.connect().await;
    c.batch_execute("CREATE TABLE t (id int PRIMARY KEY, n int); INSERT INTO t VALUES (1, 5)")
        .await
        .unwrap();
    let file = env.write(
        "01_check.yaml",
        "operations:\n  - alter_column:\n      table: t\n      column: n\n      check:\n        name: n_positive\n        constraint: n > 0\n        no_inherit: true\n      up: \"CASE WHEN n > 0 THEN n ELSE 1 END\"\n      down: n\n",
    );
    assert_eq!(env.run(&["start", file.to_str().unwrap()]).await.code, 0);
    assert_eq!(env.run(&["complete"]).await.code, 0);
    let row = c
        .query_one(
            "SELECT connoinherit, convalidated FROM pg_constraint WHERE conname = 'n_positive'",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "NO INHERIT lost");
    assert!(row.get::<_, bool>(1));
}

/// Contract safety: `--min-expanded` soak time, and a restore point + WAL position recorded
/// before the contract.
#[tokio::test(flavor = "multi_thread")]
async fn complete_respects_the_soak_time_and_records_a_restore_point() {
    let env = Env::new().await;
    let c = env.db.connect().await;
    c.batch_execute("CREATE TABLE t (id int PRIMARY KEY, n int)")
        .await
        .unwrap();
    let file = env.write(
        "01_drop_n.yaml",
        "operations:\n  - drop_column:\n      table: t\n      column: n\n",
    );
    assert_eq!(env.run(&["start", file.to_str().unwrap()]).await.code, 0);
    let r = env.run(&["complete", "--min-expanded", "1h"]).await;
    assert_eq!(r.code, 7, "{r:?}");
    assert!(r.stderr.contains("--min-expanded"), "{r:?}");
    assert_eq!(
        state_of(&env.status_json().await, "01_drop_n")["state"],
        "expanded"
    );
    let r = env.run(&["complete", "--min-expanded", "0s"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let s = state_of(&env.status_json().await, "01_drop_n");
    assert_eq!(s["state"], "completed");
    assert!(
        s["restore_lsn"].as_str().is_some_and(|l| l.contains('/')),
        "{s:#}"
    );
    assert_eq!(s["restore_point"], "zdm_01_drop_n", "{s:#}");
}

/// create_constraint unique: the index has its final name from the start (as in pgroll).
#[tokio::test(flavor = "multi_thread")]
async fn create_constraint_unique_index_has_its_final_name_after_start() {
    let env = Env::new().await;
    let c = env.db.connect().await;
    c.batch_execute(
        "CREATE TABLE t (id int PRIMARY KEY, email text); INSERT INTO t VALUES (1, 'a'), (2, 'b')",
    )
    .await
    .unwrap();
    let file = env.write(
        "01_unique_email.yaml",
        "operations:\n  - create_constraint:\n      table: t\n      name: t_email_key\n      type: unique\n      columns: [email]\n      up:\n        email: email\n      down:\n        email: email\n",
    );
    let r = env.run(&["start", file.to_str().unwrap()]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        env.query_i64("SELECT count(*) FROM pg_indexes WHERE indexname = 't_email_key'")
            .await,
        1
    );
    assert_eq!(env.run(&["complete"]).await.code, 0);
    assert_eq!(
        env.query_i64(
            "SELECT count(*) FROM pg_constraint WHERE conname = 't_email_key' AND contype = 'u'"
        )
        .await,
        1
    );
    // A name an index already has is refused up front.
    c.batch_execute("CREATE INDEX taken_name ON t (id)")
        .await
        .unwrap();
    let file = env.write(
        "02_taken.yaml",
        "operations:\n  - create_constraint:\n      table: t\n      name: taken_name\n      type: unique\n      columns: [email]\n      up:\n        email: email\n      down:\n        email: email\n",
    );
    let r = env.run(&["start", file.to_str().unwrap()]).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("already exists"), "{r:?}");
}

/// The contract drops the old version's schema: `zdm complete` refuses while a session still
/// works through it, logs the evidence, and `--force` goes ahead.
#[tokio::test(flavor = "multi_thread")]
async fn complete_refuses_while_the_old_version_is_in_use() {
    let env = Env::new().await;
    let first = env.write(
        "01_users.yaml",
        "operations:\n  - create_table:\n      name: users\n      columns:\n        - name: id\n          type: serial\n          pk: true\n        - name: name\n          type: text\n",
    );
    assert_eq!(
        env.run(&["start", first.to_str().unwrap(), "--complete"])
            .await
            .code,
        0
    );
    let second = env.write(
        "02_email.yaml",
        "operations:\n  - add_column:\n      table: users\n      column:\n        name: email\n        type: text\n        nullable: true\n",
    );
    assert_eq!(env.run(&["start", second.to_str().unwrap()]).await.code, 0);
    let status = env.status_json().await;
    let old_schema = state_of(&status, "01_users")["version_schema"]
        .as_str()
        .unwrap()
        .to_string();
    // Old application code: a transaction through the old version's view.
    let old = env.db.connect().await;
    old.batch_execute(&format!(
        "SET search_path = \"{old_schema}\"; BEGIN; SELECT count(*) FROM users"
    ))
    .await
    .unwrap();
    let r = env.run(&["complete", "--in-use-window", "500ms"]).await;
    assert_eq!(r.code, 7, "{r:?}");
    assert!(
        r.stderr.contains("still in use")
            && r.stderr.contains(&old_schema)
            && r.stderr.contains("users"),
        "{r:?}"
    );
    assert_eq!(
        state_of(&env.status_json().await, "02_email")["state"],
        "expanded"
    );
    assert!(env
        .events("02_email")
        .await
        .iter()
        .any(|m| m.starts_with("refused to complete")));
    // --force goes ahead; the contract waits (retrying its lock) until the reader lets go.
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        old.batch_execute("COMMIT").await.unwrap();
    });
    let r = env
        .run(&[
            "complete",
            "--in-use-window",
            "300ms",
            "--force",
            "--lock-retries",
            "200",
        ])
        .await;
    release.await.unwrap();
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        state_of(&env.status_json().await, "02_email")["state"],
        "completed"
    );
    assert!(env
        .events("02_email")
        .await
        .iter()
        .any(|m| m.contains("(--force)")));
    // Nobody on the old version: no wait beyond the window, no refusal.
    let third = env.write(
        "03_age.yaml",
        "operations:\n  - add_column:\n      table: users\n      column:\n        name: age\n        type: int\n        nullable: true\n",
    );
    assert_eq!(env.run(&["start", third.to_str().unwrap()]).await.code, 0);
    assert_eq!(
        env.run(&["complete", "--in-use-window", "300ms"])
            .await
            .code,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn complete_refuses_after_recent_writes_through_the_old_version() {
    let env = Env::new().await;
    let c = env.db.connect().await;
    c.batch_execute("CREATE TABLE items (id serial PRIMARY KEY, qty int); INSERT INTO items (qty) SELECT g FROM generate_series(1, 100) g")
        .await
        .unwrap();
    let file = env.write(
        "02_widen.yaml",
        "operations:\n  - alter_column:\n      table: items\n      column: qty\n      type: bigint\n      up: CAST(qty AS bigint)\n      down: CAST(qty AS integer)\n",
    );
    assert_eq!(env.run(&["start", file.to_str().unwrap()]).await.code, 0);
    // Nothing written through the old version yet: no evidence, nothing shown.
    let m = state_of(&env.status_json().await, "02_widen");
    assert!(m.get("old_version_last_write_at").is_none(), "{m}");
    // The old application code writes (the tables themselves are the old version here).
    let old = env.db.connect().await;
    old.batch_execute("SET application_name = 'billing-v1'; UPDATE items SET qty = qty + 1 WHERE id <= 10; INSERT INTO items (qty) VALUES (7)")
        .await
        .unwrap();
    let m = state_of(&env.status_json().await, "02_widen");
    assert!(m["old_version_last_write_at"].is_string(), "{m}");
    let r = env.run(&["complete", "--old-writes-window", "5m"]).await;
    assert_eq!(r.code, 7, "{r:?}");
    assert!(
        r.stderr.contains("writes through it") && r.stderr.contains("billing-v1"),
        "{r:?}"
    );
    assert_eq!(
        state_of(&env.status_json().await, "02_widen")["state"],
        "expanded"
    );
    // Writes through the new version are not evidence against completing.
    let new = env.db.connect().await;
    new.batch_execute("SET search_path = public_02_widen; UPDATE items SET qty = 1 WHERE id = 1")
        .await
        .unwrap();
    let noted: i64 = c
        .query_one("SELECT count(*) FROM zdm.old_version_writes", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(noted, 1, "one session, noted once");
    // A short window that the write has left behind lets it complete; --force would too.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let r = env.run(&["complete", "--old-writes-window", "1s"]).await;
    assert_eq!(r.code, 0, "{r:?}");
}

/// Statements queued behind the expand's ACCESS EXCLUSIVE lock run right after it commits, with
/// or without the dual-write trigger's effect; the backfill must still cover their rows, or the
/// NOT NULL check on the helper column fails at complete. The expand is held open
/// deterministically (a failpoint sleeps inside its transaction) while the statements queue.
#[tokio::test(flavor = "multi_thread")]
async fn statements_queued_behind_the_expand_are_backfilled() {
    let env = Env::new().await;
    let c = env.db.connect().await;
    c.batch_execute("CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL); INSERT INTO items SELECT g, g FROM generate_series(1, 1000) g; CREATE TABLE other (x int)")
        .await
        .unwrap();
    let file = env.write(
        "02_widen.yaml",
        "operations:\n  - alter_column:\n      table: items\n      column: qty\n      type: bigint\n      up: CAST(qty AS bigint) * 10\n      down: CAST(qty / 10 AS integer)\n",
    );
    // A transaction that took its id before the expand and writes the table after it.
    let early = env.db.connect().await;
    early
        .batch_execute("BEGIN; INSERT INTO other VALUES (1)")
        .await
        .unwrap();
    let mut cmd = env.command(&["start", file.to_str().unwrap(), "--lock-timeout", "5s"]);
    cmd.env("ZDM_FAILPOINTS", "start.group_uncommitted=1*sleep(1500)");
    let zdm = tokio::task::spawn_blocking(move || cmd.output().unwrap());
    // Wait until the expand holds its lock, then queue an update, an insert and the early
    // transaction's write behind it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while env
        .query_i64("SELECT count(*) FROM pg_locks WHERE relation = 'public.items'::regclass AND mode = 'AccessExclusiveLock' AND granted")
        .await
        == 0
    {
        assert!(std::time::Instant::now() < deadline, "the expand never took its lock");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let queued: Vec<_> = [
        "UPDATE items SET qty = 42 WHERE id = 7",
        "INSERT INTO items VALUES (1001, 55)",
    ]
    .into_iter()
    .map(|sql| {
        let url = env.db.url.clone();
        tokio::spawn(async move {
            let (q, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            q.batch_execute(sql).await.unwrap();
        })
    })
    .collect();
    let early_write = tokio::spawn(async move {
        early
            .batch_execute("UPDATE items SET qty = 77 WHERE id = 8; COMMIT")
            .await
            .unwrap();
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waiting = env
        .query_i64("SELECT count(*) FROM pg_locks WHERE relation = 'public.items'::regclass AND NOT granted")
        .await;
    assert_eq!(waiting, 3, "the statements did not queue behind the expand");
    for q in queued {
        q.await.unwrap();
    }
    early_write.await.unwrap();
    let out = common::to_run(zdm.await.unwrap());
    assert_eq!(out.code, 0, "{out:?}");
    let r = env.run(&["complete"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    for (id, want) in [(7, 420), (8, 770), (1001, 550), (9, 90)] {
        assert_eq!(
            env.query_i64(&format!("SELECT qty FROM items WHERE id = {id}"))
                .await,
            want,
            "row {id}"
        );
    }
}

/// The dual-write trigger notes writes through the old version in the ledger; an application
/// role that may not even see the ledger's schema must still write, unnoted.
#[tokio::test(flavor = "multi_thread")]
async fn an_application_role_without_ledger_access_writes_through_the_old_version() {
    let env = Env::new().await;
    let c = env.db.connect().await;
    let role = format!("app_{}", std::process::id());
    c.batch_execute(&format!(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN CREATE ROLE {role} LOGIN; END IF; END $$; \
         CREATE TABLE items (id serial PRIMARY KEY, qty int); INSERT INTO items (qty) SELECT g FROM generate_series(1, 10) g; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON items TO {role}; GRANT USAGE ON SEQUENCE items_id_seq TO {role}"
    ))
    .await
    .unwrap();
    let file = env.write(
        "02_widen.yaml",
        "operations:\n  - alter_column:\n      table: items\n      column: qty\n      type: bigint\n      up: CAST(qty AS bigint)\n      down: CAST(qty AS integer)\n",
    );
    assert_eq!(env.run(&["start", file.to_str().unwrap()]).await.code, 0);
    c.batch_execute(&format!(
        "GRANT SELECT, INSERT, UPDATE, DELETE ON items TO {role}"
    ))
    .await
    .unwrap();
    let mut url = url::Url::parse(&env.db.url).unwrap();
    url.set_username(&role).unwrap();
    let (app, conn) = tokio_postgres::connect(url.as_str(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    app.batch_execute(
        "UPDATE items SET qty = 100 WHERE id = 1; INSERT INTO items (qty) VALUES (5)",
    )
    .await
    .expect("the application's write through the old version failed");
    let r = env.run(&["complete"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        env.query_i64("SELECT qty FROM items WHERE id = 1").await,
        100
    );
    c.batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .await
        .unwrap();
}
