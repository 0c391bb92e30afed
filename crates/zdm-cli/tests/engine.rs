//! The expand/contract engine against real PostgreSQL: per-operation behaviour of both versions,
//! rollback leaving nothing behind, the pgroll example chain, and resumable backfill.

mod common;

use common::Env;
use tokio_postgres::Client;
use zdm_core::source::{load_file, MigrationFile};
use zdm_pg::backfill::Quiet;
use zdm_pg::runner::operations::{self as ops, EngineOptions};
use zdm_pg::{ConnectionSpec, LockPolicy, Session};

async fn session(env: &Env) -> Session {
    let spec = ConnectionSpec::parse(&env.db.url).unwrap();
    Session::open(&spec, "zdm", LockPolicy::default(), "test")
        .await
        .unwrap()
}

fn file(env: &Env, name: &str, yaml: &str) -> MigrationFile {
    let p = env.write(name, yaml);
    load_file(&p).unwrap()
}

async fn start(s: &mut Session, f: &MigrationFile) {
    ops::start(s, f, None, &EngineOptions::default(), &Quiet)
        .await
        .unwrap_or_else(|e| panic!("start {}: {e}", f.id));
}

async fn complete(s: &mut Session, f: &MigrationFile) {
    ops::complete(s, Some(&f.id))
        .await
        .unwrap_or_else(|e| panic!("complete {}: {e}", f.id));
}

async fn rollback(s: &mut Session, f: &MigrationFile) {
    ops::rollback(s, Some(&f.id))
        .await
        .unwrap_or_else(|e| panic!("rollback {}: {e}", f.id));
}

/// A client whose search_path selects a version schema, as an application would.
async fn version_client(env: &Env, schema: &str) -> Client {
    let c = env.db.connect().await;
    c.batch_execute(&format!("SET search_path = \"{schema}\""))
        .await
        .unwrap();
    c
}

/// zdm's traces in the user's schema: helper columns, triggers, constraints, functions.
async fn leftovers(c: &Client) -> Vec<String> {
    let rows = c
        .query(
            "SELECT 'column ' || table_name || '.' || column_name FROM information_schema.columns \
              WHERE table_schema = 'public' AND column_name LIKE '\\_zdm\\_%' AND column_name NOT LIKE '\\_zdm\\_archived\\_%' \
             UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger WHERE tgname LIKE '\\_zdm\\_%' \
             UNION ALL SELECT 'constraint ' || conname FROM pg_constraint WHERE conname LIKE '\\_zdm\\_%' \
             UNION ALL SELECT 'index ' || indexname FROM pg_indexes WHERE indexname LIKE '\\_zdm\\_%' \
             UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE proname LIKE '\\_zdm\\_%'",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

async fn schema_exists(c: &Client, name: &str) -> bool {
    c.query_one(
        "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)",
        &[&name],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test]
async fn alter_column_type_serves_both_versions_and_rolls_back_cleanly() {
    let env = Env::new().await;
    let mut s = session(&env).await;
    let f1 = file(&env, "01_create.yaml", "operations:\n  - create_table:\n      name: reviews\n      columns:\n        - name: id\n          type: serial\n          pk: true\n        - name: rating\n          type: text\n          nullable: true\n");
    start(&mut s, &f1).await;
    complete(&mut s, &f1).await;
    let app = env.db.connect().await;
    app.batch_execute(
        "INSERT INTO public.reviews (rating) SELECT g::text FROM generate_series(1, 1000) g",
    )
    .await
    .unwrap();

    let f2 = file(
        &env,
        "02_type.yaml",
        "operations:\n  - alter_column:\n      table: reviews\n      column: rating\n      type: integer\n      up: CAST(rating AS integer)\n      down: CAST(rating AS text)\n",
    );
    start(&mut s, &f2).await;
    let old = version_client(&env, "public_01_create").await;
    let new = version_client(&env, "public_02_type").await;
    // Backfilled: the new version reads integers.
    let n: i64 = new
        .query_one(
            "SELECT count(*) FROM reviews WHERE rating BETWEEN 1 AND 1000",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1000);
    // Old writes are converted for the new version, new writes for the old one.
    old.execute("INSERT INTO reviews (rating) VALUES ('4242')", &[])
        .await
        .unwrap();
    let v: i32 = new
        .query_one("SELECT rating FROM reviews WHERE rating = 4242", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, 4242);
    new.execute("INSERT INTO reviews (rating) VALUES (7777)", &[])
        .await
        .unwrap();
    let v: String = old
        .query_one("SELECT rating FROM reviews WHERE rating = '7777'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, "7777");
    new.execute("UPDATE reviews SET rating = 5 WHERE rating = 7777", &[])
        .await
        .unwrap();
    let v: i64 = old
        .query_one("SELECT count(*) FROM reviews WHERE rating = '5'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, 2, "row 5 and the updated row");

    rollback(&mut s, &f2).await;
    assert!(
        leftovers(&app).await.is_empty(),
        "{:?}",
        leftovers(&app).await
    );
    assert!(!schema_exists(&app, "public_02_type").await);
    let v: i64 = old
        .query_one("SELECT count(*) FROM reviews", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        v, 1002,
        "rows written through both versions survive the rollback"
    );

    start(&mut s, &f2).await;
    complete(&mut s, &f2).await;
    assert!(
        leftovers(&app).await.is_empty(),
        "{:?}",
        leftovers(&app).await
    );
    assert!(
        !schema_exists(&app, "public_01_create").await,
        "the old version schema is dropped"
    );
    let ty: String = app
        .query_one("SELECT data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'reviews' AND column_name = 'rating'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(ty, "integer");
    let v: i64 = new
        .query_one("SELECT count(*) FROM reviews WHERE rating = 5", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, 2, "the new version keeps working after complete");
}

#[tokio::test]
async fn the_pgroll_example_chain_runs_and_every_step_survives_rollback() {
    let env = Env::new().await;
    let mut s = session(&env).await;
    let app = env.db.connect().await;
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/compat/pgroll-examples"
    );
    let files = zdm_core::source::load_dir(std::path::Path::new(dir)).unwrap();
    assert_eq!(files.len(), 56);
    for f in &files {
        let before = leftovers(&app).await;
        ops::start(&mut s, f, None, &EngineOptions::default(), &Quiet)
            .await
            .unwrap_or_else(|e| panic!("start {}: {e}", f.id));
        ops::rollback(&mut s, Some(&f.id))
            .await
            .unwrap_or_else(|e| panic!("rollback {}: {e}", f.id));
        assert_eq!(
            leftovers(&app).await,
            before,
            "{}: rollback left something behind",
            f.id
        );
        ops::start(&mut s, f, None, &EngineOptions::default(), &Quiet)
            .await
            .unwrap_or_else(|e| panic!("start again {}: {e}", f.id));
        ops::complete(&mut s, Some(&f.id))
            .await
            .unwrap_or_else(|e| panic!("complete {}: {e}", f.id));
        assert!(
            leftovers(&app).await.is_empty(),
            "{}: {:?}",
            f.id,
            leftovers(&app).await
        );
    }
    let status = env.status_json().await;
    let done = status["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["state"] == "completed")
        .count();
    assert_eq!(done, 56);
}

/// Sets up `accounts(id, name, score)` with rows, as completed migration 01.
async fn accounts(env: &Env, s: &mut Session) -> Client {
    let f1 = file(
        env,
        "01_base.yaml",
        "operations:\n  - create_table:\n      name: accounts\n      columns:\n        - name: id\n          type: serial\n          pk: true\n        - name: name\n          type: text\n        - name: score\n          type: integer\n          nullable: true\n",
    );
    start(s, &f1).await;
    complete(s, &f1).await;
    let app = env.db.connect().await;
    app.batch_execute("INSERT INTO public.accounts (name, score) SELECT 'n' || g, g FROM generate_series(1, 500) g").await.unwrap();
    app
}

#[tokio::test]
async fn rename_column_shows_each_version_its_own_name() {
    let env = Env::new().await;
    let mut s = session(&env).await;
    let app = accounts(&env, &mut s).await;
    let f = file(&env, "02_rename.yaml", "operations:\n  - rename_column:\n      table: accounts\n      from: name\n      to: full_name\n");
    start(&mut s, &f).await;
    let old = version_client(&env, "public_01_base").await;
    let new = version_client(&env, "public_02_rename").await;
    old.execute("INSERT INTO accounts (name) VALUES ('from old')", &[])
        .await
        .unwrap();
    new.execute("INSERT INTO accounts (full_name) VALUES ('from new')", &[])
        .await
        .unwrap();
    let n: i64 = new
        .query_one(
            "SELECT count(*) FROM accounts WHERE full_name IN ('from old', 'from new')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
    let n: i64 = old
        .query_one(
            "SELECT count(*) FROM accounts WHERE name IN ('from old', 'from new')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
    assert!(
        old.query_one("SELECT full_name FROM accounts LIMIT 1", &[])
            .await
            .is_err(),
        "the old version does not see the new name"
    );
    rollback(&mut s, &f).await;
    assert!(leftovers(&app).await.is_empty());
    start(&mut s, &f).await;
    complete(&mut s, &f).await;
    let n: i64 = app
        .query_one(
            "SELECT count(*) FROM public.accounts WHERE full_name IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 502);
}

#[tokio::test]
async fn drop_column_fills_the_old_column_for_new_inserts_and_archives_at_complete() {
    let env = Env::new().await;
    let mut s = session(&env).await;
    let app = accounts(&env, &mut s).await;
    let f = file(&env, "02_drop.yaml", "operations:\n  - drop_column:\n      table: accounts\n      column: name\n      down: \"'unnamed'\"\n");
    start(&mut s, &f).await;
    let old = version_client(&env, "public_01_base").await;
    let new = version_client(&env, "public_02_drop").await;
    new.execute("INSERT INTO accounts (score) VALUES (-1)", &[])
        .await
        .unwrap();
    let name: String = old
        .query_one("SELECT name FROM accounts WHERE score = -1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        name, "unnamed",
        "the NOT NULL old column is filled by `down`"
    );
    assert!(new
        .query_one("SELECT name FROM accounts LIMIT 1", &[])
        .await
        .is_err());
    complete(&mut s, &f).await;
    let archived: i64 = app
        .query_one("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'accounts' AND column_name LIKE '\\_zdm\\_archived\\_%name'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(archived, 1, "the data is archived, not dropped");
    new.execute("INSERT INTO accounts (score) VALUES (-2)", &[])
        .await
        .unwrap();

    let kept = zdm_pg::runner::purge::purge(
        &mut s,
        "public",
        std::time::Duration::from_secs(3600),
        false,
    )
    .await
    .unwrap();
    assert!(kept.is_empty(), "younger than an hour: kept");
    let purged = zdm_pg::runner::purge::purge(&mut s, "public", std::time::Duration::ZERO, false)
        .await
        .unwrap();
    assert_eq!(purged.len(), 1, "{purged:?}");
    let left: i64 = app
        .query_one("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND column_name LIKE '\\_zdm\\_%'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

#[tokio::test]
async fn drop_table_hides_it_from_the_new_version_archives_and_purges() {
    let env = Env::new().await;
    let mut s = session(&env).await;
    let app = accounts(&env, &mut s).await;
    let f = file(
        &env,
        "02_drop.yaml",
        "operations:\n  - drop_table:\n      name: accounts\n",
    );
    start(&mut s, &f).await;
    let old = version_client(&env, "public_01_base").await;
    let new = version_client(&env, "public_02_drop").await;
    old.execute("INSERT INTO accounts (name) VALUES ('still here')", &[])
        .await
        .unwrap();
    assert!(
        new.query_one("SELECT 1 FROM accounts LIMIT 1", &[])
            .await
            .is_err(),
        "the new version does not see it"
    );
    complete(&mut s, &f).await;
    let name: String = app
        .query_one(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'zdm_archive'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let rows: i64 = app
        .query_one(&format!("SELECT count(*) FROM zdm_archive.\"{name}\""), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 501, "archived with its data");
    let purged = zdm_pg::runner::purge::purge(&mut s, "public", std::time::Duration::ZERO, false)
        .await
        .unwrap();
    assert_eq!(purged.len(), 1, "{purged:?}");
    let archived: i64 = app
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'zdm_archive'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(archived, 0);
}

#[tokio::test]
async fn add_not_null_column_with_up_binds_only_the_new_version() {
    let env = Env::new().await;
    let mut s = session(&env).await;
    let app = accounts(&env, &mut s).await;
    let f = file(
        &env,
        "02_add.yaml",
        "operations:\n  - add_column:\n      table: accounts\n      up: coalesce(score, 0) * 2\n      column:\n        name: double_score\n        type: integer\n        check:\n          name: double_score_even\n          constraint: double_score % 2 = 0\n",
    );
    start(&mut s, &f).await;
    let old = version_client(&env, "public_01_base").await;
    let new = version_client(&env, "public_02_add").await;
    let n: i64 = new
        .query_one(
            "SELECT count(*) FROM accounts WHERE double_score = score * 2",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 500, "backfilled");
    old.execute("INSERT INTO accounts (name, score) VALUES ('old', 21)", &[])
        .await
        .unwrap();
    let v: i32 = new
        .query_one("SELECT double_score FROM accounts WHERE name = 'old'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, 42, "old writes are converted with `up`");
    let err = new
        .execute(
            "INSERT INTO accounts (name, double_score) VALUES ('new', NULL)",
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        err.as_db_error()
            .unwrap()
            .message()
            .contains("check constraint"),
        "NOT NULL binds the new version: {err}"
    );
    let err = new
        .execute(
            "INSERT INTO accounts (name, double_score) VALUES ('new', 3)",
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        err.as_db_error()
            .unwrap()
            .message()
            .contains("double_score_even"),
        "{err}"
    );
    rollback(&mut s, &f).await;
    assert!(
        leftovers(&app).await.is_empty(),
        "{:?}",
        leftovers(&app).await
    );
    let cols: i64 = app.query_one("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'double_score'", &[]).await.unwrap().get(0);
    assert_eq!(cols, 0);
    start(&mut s, &f).await;
    complete(&mut s, &f).await;
    let nullable: String = app
        .query_one("SELECT is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'accounts' AND column_name = 'double_score'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(nullable, "NO");
}

#[tokio::test]
async fn create_index_is_concurrent_and_rollback_removes_it() {
    let env = Env::new().await;
    let mut s = session(&env).await;
    let app = accounts(&env, &mut s).await;
    let f = file(&env, "02_index.yaml", "operations:\n  - create_index:\n      name: accounts_score_idx\n      table: accounts\n      columns: [score]\n");
    let plan = ops::plan(&s, &f, &EngineOptions::default()).await.unwrap();
    assert!(plan
        .start
        .iter()
        .any(|st| st.sql.contains("CREATE INDEX CONCURRENTLY")
            && st.mode == zdm_core::planner::Mode::NoTransaction));
    start(&mut s, &f).await;
    assert_eq!(index_count(&app).await, 1);
    rollback(&mut s, &f).await;
    assert_eq!(index_count(&app).await, 0);
    start(&mut s, &f).await;
    complete(&mut s, &f).await;
    assert_eq!(index_count(&app).await, 1);
}

#[tokio::test]
async fn blocked_expand_retries_without_blocking_the_application_for_long() {
    let env = Env::new().await;
    let mut s = session(&env).await;
    let app = accounts(&env, &mut s).await;
    s.unlock().await.unwrap(); // the runner below is another session
    let blocker = env.db.connect().await;
    blocker
        .batch_execute("BEGIN; SELECT count(*) FROM public.accounts;")
        .await
        .unwrap();
    let f = file(&env, "02_add.yaml", "operations:\n  - add_column:\n      table: accounts\n      column:\n        name: extra\n        type: text\n        nullable: true\n");
    let spec = ConnectionSpec::parse(&env.db.url).unwrap();
    let policy = LockPolicy {
        lock_timeout: std::time::Duration::from_millis(100),
        ..LockPolicy::default()
    };
    let mut fast = Session::open(&spec, "zdm", policy, "test").await.unwrap();
    let id = f.id.clone();
    let runner = tokio::spawn(async move {
        ops::start(&mut fast, &f, None, &EngineOptions::default(), &Quiet)
            .await
            .map(|_| ())
    });
    let mut worst = std::time::Duration::ZERO;
    let began = std::time::Instant::now();
    while began.elapsed() < std::time::Duration::from_millis(1200) {
        let t = std::time::Instant::now();
        app.query_one("SELECT count(*) FROM public.accounts", &[])
            .await
            .unwrap();
        worst = worst.max(t.elapsed());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    blocker.batch_execute("COMMIT").await.unwrap();
    runner.await.unwrap().unwrap();
    assert!(
        worst < std::time::Duration::from_millis(300),
        "the application waited {worst:?}"
    );
    let retries: i64 = app
        .query_one("SELECT count(*) FROM zdm.events WHERE migration_id = $1 AND message LIKE '%lock not available%'", &[&id])
        .await
        .unwrap()
        .get(0);
    assert!(retries >= 2, "{retries} retries");
}

async fn index_count(c: &Client) -> i64 {
    c.query_one(
        "SELECT count(*) FROM pg_indexes WHERE indexname = 'accounts_score_idx'",
        &[],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test]
async fn create_unique_constraint_binds_only_the_new_version_until_complete() {
    let env = Env::new().await;
    let mut s = session(&env).await;
    let app = accounts(&env, &mut s).await;
    let f = file(
        &env,
        "02_unique.yaml",
        "operations:\n  - create_constraint:\n      type: unique\n      table: accounts\n      name: accounts_name_unique\n      columns: [name]\n      up:\n        name: name || '-' || id\n      down:\n        name: name\n",
    );
    start(&mut s, &f).await;
    let old = version_client(&env, "public_01_base").await;
    let new = version_client(&env, "public_02_unique").await;
    // The old version may still write duplicates; `up` makes them unique for the new version.
    old.execute("INSERT INTO accounts (name) VALUES ('dup'), ('dup')", &[])
        .await
        .unwrap();
    let n: i64 = new
        .query_one(
            "SELECT count(DISTINCT name) FROM accounts WHERE name LIKE 'dup-%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
    new.execute("INSERT INTO accounts (name) VALUES ('solo')", &[])
        .await
        .unwrap();
    let err = new
        .execute("INSERT INTO accounts (name) VALUES ('solo')", &[])
        .await
        .unwrap_err();
    assert_eq!(
        err.as_db_error().unwrap().code().code(),
        "23505",
        "the new version is bound: {err}"
    );
    rollback(&mut s, &f).await;
    assert!(
        leftovers(&app).await.is_empty(),
        "{:?}",
        leftovers(&app).await
    );
    app.batch_execute("DELETE FROM public.accounts WHERE name IN ('dup', 'solo')")
        .await
        .unwrap();
    start(&mut s, &f).await;
    complete(&mut s, &f).await;
    let kind: String = app
        .query_one(
            "SELECT contype::text FROM pg_constraint WHERE conname = 'accounts_name_unique'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(kind, "u");
}

#[tokio::test]
async fn drop_constraint_frees_the_new_version_only() {
    let env = Env::new().await;
    let mut s = session(&env).await;
    let app = accounts(&env, &mut s).await;
    app.batch_execute(
        "ALTER TABLE public.accounts ADD CONSTRAINT score_positive CHECK (score > 0)",
    )
    .await
    .unwrap();
    let f = file(
        &env,
        "02_drop_check.yaml",
        "operations:\n  - drop_constraint:\n      table: accounts\n      name: score_positive\n      up: score\n      down: \"CASE WHEN score > 0 THEN score ELSE 1 END\"\n",
    );
    start(&mut s, &f).await;
    let old = version_client(&env, "public_01_base").await;
    let new = version_client(&env, "public_02_drop_check").await;
    new.execute(
        "INSERT INTO accounts (name, score) VALUES ('negative', -5)",
        &[],
    )
    .await
    .unwrap();
    let v: i32 = old
        .query_one("SELECT score FROM accounts WHERE name = 'negative'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, 1, "`down` keeps the old version's constraint satisfied");
    assert!(
        old.execute("INSERT INTO accounts (name, score) VALUES ('x', -1)", &[])
            .await
            .is_err(),
        "the old version is still bound"
    );
    complete(&mut s, &f).await;
    let n: i64 = app
        .query_one(
            "SELECT count(*) FROM pg_constraint WHERE conname = 'score_positive'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
    let v: i32 = app
        .query_one(
            "SELECT score FROM public.accounts WHERE name = 'negative'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, -5);
}

#[tokio::test]
async fn rename_table_and_raw_sql_round_trip() {
    let env = Env::new().await;
    let mut s = session(&env).await;
    let app = accounts(&env, &mut s).await;
    let f = file(
        &env,
        "02_rename.yaml",
        "operations:\n  - rename_table:\n      from: accounts\n      to: customers\n  - sql:\n      up: CREATE TABLE audit (id int)\n      down: DROP TABLE audit\n  - set_replica_identity:\n      table: customers\n      identity:\n        type: full\n",
    );
    start(&mut s, &f).await;
    let old = version_client(&env, "public_01_base").await;
    let new = version_client(&env, "public_02_rename").await;
    old.execute("INSERT INTO accounts (name) VALUES ('via old')", &[])
        .await
        .unwrap();
    new.execute("INSERT INTO customers (name) VALUES ('via new')", &[])
        .await
        .unwrap();
    let n: i64 = new
        .query_one(
            "SELECT count(*) FROM customers WHERE name LIKE 'via %'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
    let n: i64 = new
        .query_one("SELECT count(*) FROM audit", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "tables the SQL creates appear in the new version");
    let ident: String = app
        .query_one(
            "SELECT relreplident::text FROM pg_class WHERE oid = 'public.accounts'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(ident, "f");
    rollback(&mut s, &f).await;
    let ident: String = app
        .query_one(
            "SELECT relreplident::text FROM pg_class WHERE oid = 'public.accounts'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(ident, "d");
    let audit: i64 = app
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'audit'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audit, 0, "`down` ran");
    start(&mut s, &f).await;
    complete(&mut s, &f).await;
    let n: i64 = app
        .query_one("SELECT count(*) FROM public.customers", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 502);
}

#[tokio::test]
async fn create_table_drop_index_and_rename_constraint_per_version() {
    let env = Env::new().await;
    let mut s = session(&env).await;
    let app = accounts(&env, &mut s).await;
    app.batch_execute("CREATE INDEX accounts_score_idx ON public.accounts (score); ALTER TABLE public.accounts ADD CONSTRAINT name_not_empty CHECK (name <> '')")
        .await
        .unwrap();
    let f = file(
        &env,
        "02_misc.yaml",
        "operations:\n  - create_table:\n      name: notes\n      columns:\n        - name: id\n          type: serial\n          pk: true\n        - name: body\n          type: text\n  - drop_index:\n      name: accounts_score_idx\n  - rename_constraint:\n      table: accounts\n      from: name_not_empty\n      to: accounts_name_present\n",
    );
    start(&mut s, &f).await;
    let old = version_client(&env, "public_01_base").await;
    let new = version_client(&env, "public_02_misc").await;
    new.execute("INSERT INTO notes (body) VALUES ('hello')", &[])
        .await
        .unwrap();
    assert!(
        old.query_one("SELECT 1 FROM notes LIMIT 1", &[])
            .await
            .is_err(),
        "the old version does not see the new table"
    );
    let idx = |c: &'static str| format!("SELECT count(*) FROM pg_indexes WHERE indexname = '{c}'");
    let n: i64 = app
        .query_one(&idx("accounts_score_idx"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        n, 1,
        "the old version may still use the index until complete"
    );
    let count =
        |name: &'static str| format!("SELECT count(*) FROM pg_constraint WHERE conname = '{name}'");
    let n: i64 = app
        .query_one(&count("name_not_empty"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        n, 1,
        "renamed at complete, as in pgroll: the old name stays until then"
    );
    rollback(&mut s, &f).await;
    let n: i64 = app
        .query_one(&count("name_not_empty"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "nothing to undo at rollback");
    let n: i64 = app
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'notes'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
    start(&mut s, &f).await;
    complete(&mut s, &f).await;
    let n: i64 = app
        .query_one(&idx("accounts_score_idx"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "dropped (concurrently) at complete");
    let n: i64 = app
        .query_one(&count("accounts_name_present"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "renamed at complete");
    let n: i64 = new
        .query_one("SELECT count(*) FROM notes", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "a fresh table after rollback and restart");
}

#[tokio::test]
async fn drop_multicolumn_constraint_frees_the_new_version_only() {
    let env = Env::new().await;
    let mut s = session(&env).await;
    let app = accounts(&env, &mut s).await;
    app.batch_execute("ALTER TABLE public.accounts ADD CONSTRAINT name_score CHECK (score IS NULL OR length(name) < score + 10)").await.unwrap();
    let f = file(
        &env,
        "02_drop_multi.yaml",
        "operations:\n  - drop_multicolumn_constraint:\n      table: accounts\n      name: name_score\n      up:\n        name: name\n        score: score\n      down:\n        name: name\n        score: \"CASE WHEN score IS NULL OR length(name) < score + 10 THEN score ELSE NULL END\"\n",
    );
    start(&mut s, &f).await;
    let old = version_client(&env, "public_01_base").await;
    let new = version_client(&env, "public_02_drop_multi").await;
    new.execute(
        "INSERT INTO accounts (name, score) VALUES ('a very long name indeed', 2)",
        &[],
    )
    .await
    .unwrap();
    let v: Option<i32> = old
        .query_one(
            "SELECT score FROM accounts WHERE name = 'a very long name indeed'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        v, None,
        "`down` keeps the old version's constraint satisfied"
    );
    assert!(old
        .execute(
            "INSERT INTO accounts (name, score) VALUES ('a very long name indeed', 2)",
            &[]
        )
        .await
        .is_err());
    complete(&mut s, &f).await;
    let n: i64 = app
        .query_one(
            "SELECT count(*) FROM pg_constraint WHERE conname = 'name_score'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
    let v: i32 = app
        .query_one(
            "SELECT score FROM public.accounts WHERE name = 'a very long name indeed'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, 2);
}

async fn one_i64(c: &Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn primary_key_type_change_keeps_foreign_keys_sequences_and_identity() {
    let env = Env::new().await;
    let mut s = session(&env).await;
    let app = env.db.connect().await;
    app.batch_execute(
        "CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL);
         CREATE TABLE orders (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                              user_id int NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                              note text);
         INSERT INTO users (name) SELECT 'u' || g FROM generate_series(1, 2000) g;
         INSERT INTO orders (user_id, note) SELECT 1 + g % 2000, 'o' || g FROM generate_series(1, 4000) g;",
    )
    .await
    .unwrap();

    let f1 = file(
        &env,
        "01_users_bigint.yaml",
        "operations:\n  - alter_column:\n      table: users\n      column: id\n      type: bigint\n      up: id\n      down: id\n",
    );
    start(&mut s, &f1).await;
    let old = version_client(&env, "public").await;
    let new = version_client(&env, "public_01_users_bigint").await;
    // Both versions insert with the id left to the sequence; the ids never collide.
    let a: i32 = old
        .query_one("INSERT INTO users (name) VALUES ('old') RETURNING id", &[])
        .await
        .unwrap()
        .get(0);
    let b: i64 = new
        .query_one("INSERT INTO users (name) VALUES ('new') RETURNING id", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(a, 2001);
    assert!(b > 2001, "drawn from the same sequence: {b}");
    assert_eq!(
        one_i64(
            &old,
            &format!("SELECT count(*) FROM users WHERE id = {b} AND name = 'new'")
        )
        .await,
        1
    );
    old.execute(
        &format!("INSERT INTO orders (user_id, note) VALUES ({b}, 'x')"),
        &[],
    )
    .await
    .unwrap();
    // A delete through the new version cascades through the (old) foreign key.
    new.execute("DELETE FROM users WHERE id = 7", &[])
        .await
        .unwrap();
    assert_eq!(
        one_i64(&old, "SELECT count(*) FROM orders WHERE user_id = 7").await,
        0
    );

    rollback(&mut s, &f1).await;
    assert!(
        leftovers(&app).await.is_empty(),
        "{:?}",
        leftovers(&app).await
    );
    assert_eq!(one_i64(&app, "SELECT count(*) FROM users").await, 2001);

    start(&mut s, &f1).await;
    let new = version_client(&env, "public_01_users_bigint").await;
    new.execute("INSERT INTO users (name) VALUES ('during')", &[])
        .await
        .unwrap();
    complete(&mut s, &f1).await;
    assert!(
        leftovers(&app).await.is_empty(),
        "{:?}",
        leftovers(&app).await
    );
    let row = app
        .query_one(
            "SELECT format_type(a.atttypid, a.atttypmod), a.attnotnull,
                    (SELECT conname FROM pg_constraint WHERE conrelid = 'users'::regclass AND contype = 'p'),
                    (SELECT pg_get_constraintdef(oid) || ' ' || convalidated FROM pg_constraint
                      WHERE conrelid = 'orders'::regclass AND contype = 'f' AND conname = 'orders_user_id_fkey'),
                    pg_get_serial_sequence('users', 'id'),
                    (SELECT format_type(seqtypid, NULL) FROM pg_sequence WHERE seqrelid = pg_get_serial_sequence('users', 'id')::regclass)
               FROM pg_attribute a WHERE a.attrelid = 'users'::regclass AND a.attname = 'id'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "bigint");
    assert!(row.get::<_, bool>(1));
    assert_eq!(row.get::<_, String>(2), "users_pkey");
    assert_eq!(
        row.get::<_, String>(3),
        "FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE true"
    );
    assert_eq!(row.get::<_, String>(4), "public.users_id_seq");
    assert_eq!(row.get::<_, String>(5), "bigint");
    let next: i64 = app
        .query_one(
            "INSERT INTO users (name) VALUES ('after') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(next > b, "the sequence carries on: {next}");
    assert_eq!(
        one_i64(&app, "SELECT count(*) - count(DISTINCT id) FROM users").await,
        0
    );
    let err = app
        .execute("INSERT INTO orders (user_id) VALUES (999999)", &[])
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION)
    );

    // An identity primary key (GENERATED ALWAYS) becomes bigint and stays an identity.
    let f2 = file(
        &env,
        "02_orders_bigint.yaml",
        "operations:\n  - alter_column:\n      table: orders\n      column: id\n      type: bigint\n      up: id\n      down: id\n",
    );
    start(&mut s, &f2).await;
    let old = version_client(&env, "public_01_users_bigint").await;
    let new = version_client(&env, "public_02_orders_bigint").await;
    let a: i32 = old
        .query_one("INSERT INTO orders (user_id) VALUES (1) RETURNING id", &[])
        .await
        .unwrap()
        .get(0);
    let b: i64 = new
        .query_one("INSERT INTO orders (user_id) VALUES (1) RETURNING id", &[])
        .await
        .unwrap()
        .get(0);
    assert!(b > i64::from(a));
    complete(&mut s, &f2).await;
    let row = app
        .query_one(
            "SELECT format_type(atttypid, atttypmod), attidentity::text FROM pg_attribute
              WHERE attrelid = 'orders'::regclass AND attname = 'id'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "bigint");
    assert_eq!(row.get::<_, String>(1), "a");
    let c: i64 = app
        .query_one("INSERT INTO orders (user_id) VALUES (1) RETURNING id", &[])
        .await
        .unwrap()
        .get(0);
    assert!(c > b, "the identity continues past {b}: got {c}");
    assert_eq!(
        one_i64(&app, "SELECT count(*) - count(DISTINCT id) FROM orders").await,
        0
    );
}
