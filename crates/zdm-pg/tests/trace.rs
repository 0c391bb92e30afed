//! Lock traces against real PostgreSQL: what each statement locks and rewrites, as
//! `zdm lint --trace` reports it.

use zdm_pg::trace::{trace_sql, Scratch, StatementTrace};
use zdm_pg::ConnectionSpec;
use zdm_testkit::TestDb;

async fn scratch_with(setup: &str) -> (TestDb, Scratch) {
    let db = TestDb::create().await;
    let spec = ConnectionSpec::parse(&db.url).unwrap();
    let scratch = Scratch::create(&spec).await.unwrap();
    scratch
        .connect()
        .await
        .unwrap()
        .batch_execute(setup)
        .await
        .unwrap();
    (db, scratch)
}

const SETUP: &str = "CREATE TABLE users (id bigint PRIMARY KEY, email varchar(100));
                     CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, qty int, note varchar(50));";

/// The strongest lock the statement took on `relation` (empty when none).
fn lock(t: &StatementTrace, relation: &str) -> Vec<String> {
    t.strongest()
        .get(relation)
        .map(|l| vec![l.mode.clone()])
        .unwrap_or_default()
}

#[tokio::test]
async fn create_index_blocks_writes_and_concurrently_does_not() {
    let (_db, scratch) = scratch_with(SETUP).await;
    let traces = trace_sql(
        &scratch,
        "CREATE INDEX orders_qty ON orders (qty);\nCREATE INDEX CONCURRENTLY orders_note ON orders (note);",
    )
    .await
    .unwrap();
    scratch.drop().await.unwrap();
    for t in &traces {
        println!("{}: {:?}", t.sql, t.locks);
    }
    assert_eq!(traces.len(), 2);
    assert!(traces[0].error.is_none());
    assert_eq!(lock(&traces[0], "orders"), ["SHARE"]);
    assert!(traces[1].outside_transaction);
    assert!(traces[1].error.is_none(), "{:?}", traces[1].error);
    assert_eq!(lock(&traces[1], "orders"), ["SHARE UPDATE EXCLUSIVE"]);
}

#[tokio::test]
async fn foreign_keys_lock_both_tables_even_not_valid() {
    let (_db, scratch) = scratch_with(SETUP).await;
    let traces = trace_sql(
        &scratch,
        "ALTER TABLE orders ADD CONSTRAINT fk1 FOREIGN KEY (user_id) REFERENCES users (id);
         ALTER TABLE orders ADD CONSTRAINT fk2 FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
         ALTER TABLE orders VALIDATE CONSTRAINT fk2;",
    )
    .await
    .unwrap();
    scratch.drop().await.unwrap();
    for t in &traces {
        println!("{}: {:?}", t.sql, t.locks);
    }
    assert_eq!(lock(&traces[0], "orders"), ["SHARE ROW EXCLUSIVE"]);
    assert_eq!(lock(&traces[0], "users"), ["SHARE ROW EXCLUSIVE"]);
    assert_eq!(lock(&traces[1], "orders"), ["SHARE ROW EXCLUSIVE"]);
    assert_eq!(lock(&traces[1], "users"), ["SHARE ROW EXCLUSIVE"]);
    // VALIDATE: no write-blocking lock on the table, ROW SHARE on the parent.
    assert_eq!(lock(&traces[2], "orders"), ["SHARE UPDATE EXCLUSIVE"]);
    assert_eq!(lock(&traces[2], "users"), ["ROW SHARE"]);
    // In one transaction the VALIDATE would run under the first statement's locks.
    assert!(traces[2]
        .held_before
        .iter()
        .any(|l| l.relation == "orders" && l.mode == "SHARE ROW EXCLUSIVE"));
}

#[tokio::test]
async fn alter_type_rewrites_unless_binary_coercible() {
    let (_db, scratch) = scratch_with(SETUP).await;
    let traces = trace_sql(
        &scratch,
        "ALTER TABLE users ALTER COLUMN email TYPE varchar(200);
         ALTER TABLE users ALTER COLUMN email TYPE text;
         ALTER TABLE orders ALTER COLUMN qty TYPE bigint;",
    )
    .await
    .unwrap();
    scratch.drop().await.unwrap();
    for t in &traces {
        println!("{}: {:?} rewrites {:?}", t.sql, t.locks, t.rewrites);
    }
    assert_eq!(lock(&traces[0], "users"), ["ACCESS EXCLUSIVE"]);
    assert!(traces[0].rewrites.is_empty(), "{:?}", traces[0].rewrites);
    assert!(traces[1].rewrites.is_empty(), "{:?}", traces[1].rewrites);
    assert_eq!(lock(&traces[2], "orders"), ["ACCESS EXCLUSIVE"]);
    assert!(traces[2].rewrites.contains(&"orders".to_string()));
    assert!(traces[2].rewrites.contains(&"orders_pkey".to_string()));
}

#[tokio::test]
async fn a_failing_statement_stops_the_trace_with_its_error() {
    let (_db, scratch) = scratch_with(SETUP).await;
    let traces = trace_sql(&scratch, "ALTER TABLE nope ADD COLUMN x int; SELECT 1;")
        .await
        .unwrap();
    scratch.drop().await.unwrap();
    assert_eq!(traces.len(), 1);
    assert!(traces[0].error.as_deref().unwrap().contains("42P01"));
}
