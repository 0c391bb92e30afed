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
