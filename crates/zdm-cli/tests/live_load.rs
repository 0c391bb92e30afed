//! The zero-downtime claim, tested: an application-like load writes and reads through the old
//! and the new version schema while a migration starts, backfills 200k rows and completes.
//! Every statement must succeed and, at the end, every row written must be present and correct.

mod common;

use common::Env;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::Client;
use zdm_core::source::load_file;
use zdm_pg::backfill::Quiet;
use zdm_pg::runner::operations::{self as ops, EngineOptions};
use zdm_pg::{ConnectionSpec, LockPolicy, Session};

const ROWS: i64 = 200_000;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[derive(Default)]
struct Shared {
    failures: AtomicU64,
    statements: AtomicU64,
    stop_old: AtomicBool,
    stop_all: AtomicBool,
    expanded: AtomicBool,
}

/// What one writer expects: id → (balance, balance_cents if it wrote them), None when deleted.
type Expected = HashMap<i64, Option<(i64, Option<i64>)>>;

async fn client(env: &Env, schema: &str) -> Client {
    let c = env.db.connect().await;
    c.batch_execute(&format!("SET search_path = \"{schema}\""))
        .await
        .unwrap();
    c
}

fn record<T>(shared: &Shared, what: &str, r: Result<T, tokio_postgres::Error>) -> Option<T> {
    shared.statements.fetch_add(1, Ordering::Relaxed);
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            shared.failures.fetch_add(1, Ordering::Relaxed);
            eprintln!("FAILED {what}: {e:?}");
            None
        }
    }
}

/// Writes through the old version (integer balance, no balance_cents) until told to stop.
async fn old_writer(c: Client, shared: Arc<Shared>, seed: u64) -> Expected {
    let mut rng = Rng(seed);
    let mut mine: Expected = HashMap::new();
    let mut ids: Vec<i64> = Vec::new();
    while !shared.stop_old.load(Ordering::Relaxed) {
        let balance = (rng.next() % 1_000_000) as i32;
        match rng.next() % 10 {
            0..=4 => {
                if let Some(row) = record(
                    &shared,
                    "old insert",
                    c.query_one(
                        "INSERT INTO accounts (balance, note) VALUES ($1, 'old') RETURNING id",
                        &[&balance],
                    )
                    .await,
                ) {
                    let id: i64 = row.get(0);
                    mine.insert(id, Some((balance as i64, None)));
                    ids.push(id);
                }
            }
            5..=7 if !ids.is_empty() => {
                let id = ids[(rng.next() as usize) % ids.len()];
                if mine.get(&id).is_some_and(|v| v.is_some()) {
                    record(
                        &shared,
                        "old update",
                        c.execute(
                            "UPDATE accounts SET balance = $2 WHERE id = $1",
                            &[&id, &balance],
                        )
                        .await,
                    );
                    mine.insert(id, Some((balance as i64, None)));
                }
            }
            8 if !ids.is_empty() => {
                let id = ids[(rng.next() as usize) % ids.len()];
                record(
                    &shared,
                    "old delete",
                    c.execute("DELETE FROM accounts WHERE id = $1", &[&id])
                        .await,
                );
                mine.insert(id, None);
            }
            _ => {
                let id = (rng.next() % ROWS as u64) as i64 + 1;
                record(
                    &shared,
                    "old read",
                    c.query_opt("SELECT balance FROM accounts WHERE id = $1", &[&id])
                        .await,
                );
            }
        }
    }
    mine
}

/// Writes through the new version (bigint balance, balance_cents) once it is live.
async fn new_writer(env: Arc<Env>, shared: Arc<Shared>, seed: u64) -> Expected {
    while !shared.expanded.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let c = client(&env, "public_02_widen").await;
    let mut rng = Rng(seed);
    let mut mine: Expected = HashMap::new();
    let mut ids: Vec<i64> = Vec::new();
    while !shared.stop_all.load(Ordering::Relaxed) {
        let balance = (rng.next() % 5_000_000_000) as i64; // beyond the old integer range
        let cents = balance * 100 + 1;
        match rng.next() % 10 {
            0..=4 => {
                // The old column is integer: the `down` clamps what does not fit.
                if let Some(row) = record(&shared, "new insert", c.query_one("INSERT INTO accounts (balance, balance_cents, note) VALUES ($1, $2, 'new') RETURNING id", &[&balance, &cents]).await) {
                    let id: i64 = row.get(0);
                    mine.insert(id, Some((balance, Some(cents))));
                    ids.push(id);
                }
            }
            5..=7 if !ids.is_empty() => {
                let id = ids[(rng.next() as usize) % ids.len()];
                if mine.get(&id).is_some_and(|v| v.is_some()) {
                    record(
                        &shared,
                        "new update",
                        c.execute(
                            "UPDATE accounts SET balance = $2, balance_cents = $3 WHERE id = $1",
                            &[&id, &balance, &cents],
                        )
                        .await,
                    );
                    mine.insert(id, Some((balance, Some(cents))));
                }
            }
            8 if !ids.is_empty() => {
                let id = ids[(rng.next() as usize) % ids.len()];
                record(
                    &shared,
                    "new delete",
                    c.execute("DELETE FROM accounts WHERE id = $1", &[&id])
                        .await,
                );
                mine.insert(id, None);
            }
            _ => {
                let id = (rng.next() % ROWS as u64) as i64 + 1;
                record(
                    &shared,
                    "new read",
                    c.query_opt(
                        "SELECT balance, balance_cents FROM accounts WHERE id = $1",
                        &[&id],
                    )
                    .await,
                );
            }
        }
    }
    mine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn live_load_through_both_versions_sees_no_error_and_loses_nothing() {
    let env = Arc::new(Env::new().await);
    let spec = ConnectionSpec::parse(&env.db.url).unwrap();
    let mut s = Session::open(&spec, "zdm", LockPolicy::default(), "test")
        .await
        .unwrap();
    let f1 = load_file(&env.write(
        "01_accounts.yaml",
        "operations:\n  - create_table:\n      name: accounts\n      columns:\n        - name: id\n          type: bigserial\n          pk: true\n        - name: balance\n          type: integer\n        - name: note\n          type: text\n          nullable: true\n",
    ))
    .unwrap();
    ops::start(&mut s, &f1, None, &EngineOptions::default(), &Quiet)
        .await
        .unwrap();
    ops::complete(&mut s, Some(&f1.id)).await.unwrap();
    let admin = env.db.connect().await;
    admin
        .batch_execute(&format!("INSERT INTO public.accounts (balance, note) SELECT g % 1000000, 'seed' FROM generate_series(1, {ROWS}) g; ANALYZE public.accounts"))
        .await
        .unwrap();
    let f2 = load_file(&env.write(
        "02_widen.yaml",
        "operations:\n  - alter_column:\n      table: accounts\n      column: balance\n      type: bigint\n      up: CAST(balance AS bigint)\n      down: CASE WHEN balance > 2147483647 THEN 2147483647 ELSE balance::integer END\n  - add_column:\n      table: accounts\n      up: balance * 100\n      column:\n        name: balance_cents\n        type: bigint\n",
    ))
    .unwrap();

    let shared = Arc::new(Shared::default());
    let mut old_tasks = Vec::new();
    for seed in 1..=3u64 {
        let c = client(&env, "public_01_accounts").await;
        old_tasks.push(tokio::spawn(old_writer(c, shared.clone(), seed * 7919)));
    }
    let mut new_tasks = Vec::new();
    for seed in 1..=3u64 {
        new_tasks.push(tokio::spawn(new_writer(
            env.clone(),
            shared.clone(),
            seed * 104_729,
        )));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    ops::start(&mut s, &f2, None, &EngineOptions::default(), &Quiet)
        .await
        .unwrap();
    shared.expanded.store(true, Ordering::Relaxed);
    // Both versions live side by side for a while, then the old application is retired.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    shared.stop_old.store(true, Ordering::Relaxed);
    let mut expected: Vec<Expected> = Vec::new();
    for t in old_tasks {
        expected.push(t.await.unwrap());
    }
    ops::complete(&mut s, Some(&f2.id)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    shared.stop_all.store(true, Ordering::Relaxed);
    for t in new_tasks {
        expected.push(t.await.unwrap());
    }

    let statements = shared.statements.load(Ordering::Relaxed);
    assert_eq!(
        shared.failures.load(Ordering::Relaxed),
        0,
        "failed statements out of {statements}"
    );
    assert!(statements > 500, "the load ran ({statements} statements)");

    // Every row written is there, with the right values, in the final schema.
    let mut checked = 0;
    for (i, group) in expected.iter().enumerate() {
        let old_group = i < 3;
        for (id, want) in group {
            let row = admin
                .query_opt(
                    "SELECT balance, balance_cents FROM public.accounts WHERE id = $1",
                    &[id],
                )
                .await
                .unwrap();
            match (want, row) {
                (None, None) => {}
                (Some((balance, cents)), Some(row)) => {
                    let got_balance: i64 = row.get(0);
                    let got_cents: Option<i64> = row.get(1);
                    assert_eq!(got_balance, *balance, "row {id}");
                    let want_cents = if old_group {
                        Some(balance * 100)
                    } else {
                        *cents
                    };
                    assert_eq!(
                        got_cents, want_cents,
                        "row {id} (old version wrote it: {old_group})"
                    );
                }
                (want, got) => panic!(
                    "row {id}: expected {want:?}, found {:?}",
                    got.map(|_| "a row")
                ),
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "checked {checked} rows");
    // The backfill converted every untouched seed row, exactly once and correctly.
    let wrong: i64 = admin
        .query_one("SELECT count(*) FROM public.accounts WHERE note = 'seed' AND balance_cents IS DISTINCT FROM balance * 100", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(wrong, 0);
    let ty: String = admin
        .query_one("SELECT data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'accounts' AND column_name = 'balance'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(ty, "bigint");
    let nullable: String = admin
        .query_one("SELECT is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'accounts' AND column_name = 'balance_cents'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(nullable, "NO", "NOT NULL enforced after complete");
    eprintln!("live load: {statements} statements, {checked} rows verified");
}
