//! Application transactions open for seconds during each phase: a REPEATABLE READ report and an
//! idle-in-transaction writer holding a row lock. zdm waits for them (each attempt bounded by the
//! lock timeout, then backing off), finishes correctly once they end, and meanwhile a probe
//! session's statements on the same table are never held up much longer than the lock timeout.

mod common;

use common::{state_of, Env};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROWS: i64 = 30_000;
const HOLD: Duration = Duration::from_secs(2);
const MIGRATION: &str = "operations:
  - add_column:
      table: accounts
      column: {name: name_upper, type: text, nullable: true}
      up: upper(name)
  - alter_column:
      table: accounts
      column: balance
      type: bigint
      up: CAST(balance AS bigint)
      down: CAST(balance AS integer)
  - create_index: {name: accounts_name_idx, table: accounts, columns: [name]}
";

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Start,
    Backfill,
    Complete,
    Rollback,
}

#[derive(Default)]
struct Probe {
    stop: AtomicBool,
    worst_micros: AtomicU64,
    statements: AtomicU64,
    failures: AtomicU64,
}

/// Open the two long transactions; they end after `HOLD`.
async fn hold(env: &Env) -> tokio::task::JoinHandle<()> {
    let reader = env.db.connect().await;
    reader
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM accounts")
        .await
        .unwrap();
    let writer = env.db.connect().await;
    writer
        .batch_execute("BEGIN; UPDATE accounts SET balance = balance + 1 WHERE id = 5")
        .await
        .unwrap();
    tokio::spawn(async move {
        tokio::time::sleep(HOLD).await;
        reader.batch_execute("COMMIT").await.unwrap();
        writer.batch_execute("COMMIT").await.unwrap();
    })
}

async fn during(phase: Phase) {
    let env = Env::new().await;
    let c = env.db.connect().await;
    c.batch_execute(&format!(
        "CREATE TABLE accounts (id bigserial PRIMARY KEY, name text NOT NULL, balance integer NOT NULL DEFAULT 0); \
         INSERT INTO accounts (name, balance) SELECT 'a' || g, g FROM generate_series(1, {ROWS}) g; ANALYZE accounts"
    ))
    .await
    .unwrap();
    let file = env.write("02_change.yaml", MIGRATION);
    let path = file.to_str().unwrap().to_string();
    let opts = ["--lock-timeout", "50ms", "--lock-retries", "500"];

    let probe = Arc::new(Probe::default());
    let probe_task = {
        let (probe, client) = (probe.clone(), env.db.connect().await);
        tokio::spawn(async move {
            let mut i = 0i64;
            while !probe.stop.load(Ordering::Relaxed) {
                i += 1;
                let began = Instant::now();
                let r = if i % 2 == 0 {
                    client
                        .execute("INSERT INTO accounts (name, balance) VALUES ('p', 1)", &[])
                        .await
                } else {
                    client
                        .execute(
                            "UPDATE accounts SET name = name WHERE id = $1",
                            &[&(i % ROWS + 10)],
                        )
                        .await
                };
                probe.statements.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = r {
                    eprintln!("probe statement failed: {e:?}");
                    probe.failures.fetch_add(1, Ordering::Relaxed);
                }
                probe
                    .worst_micros
                    .fetch_max(began.elapsed().as_micros() as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    let began = Instant::now();
    let released = match phase {
        Phase::Start => {
            let h = hold(&env).await;
            let mut a = vec!["start", path.as_str()];
            a.extend(opts);
            let r = env.run(&a).await;
            assert_eq!(r.code, 0, "{r:?}");
            h
        }
        Phase::Backfill => {
            let mut a = vec![
                "start",
                path.as_str(),
                "--batch-target",
                "5ms",
                "--batch-delay",
                "20ms",
            ];
            a.extend(opts);
            let mut zdm = env
                .command(&a)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(60);
            // (the ledger's tables appear once zdm has begun)
            while c
                .query_one(
                    "SELECT coalesce(max(rows_done), 0) FROM zdm.backfill_progress",
                    &[],
                )
                .await
                .map_or(0, |r| r.get::<_, i64>(0))
                == 0
            {
                assert!(Instant::now() < deadline, "the backfill never began");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let h = hold(&env).await;
            let status = tokio::task::spawn_blocking(move || zdm.wait().unwrap())
                .await
                .unwrap();
            assert!(status.success());
            h
        }
        Phase::Complete | Phase::Rollback => {
            let mut a = vec!["start", path.as_str()];
            a.extend(opts);
            assert_eq!(env.run(&a).await.code, 0);
            let h = hold(&env).await;
            let mut a = vec![if phase == Phase::Complete {
                "complete"
            } else {
                "rollback"
            }];
            a.extend(opts);
            if phase == Phase::Complete {
                a.extend(["--in-use-window", "0s"]);
            }
            let r = env.run(&a).await;
            assert_eq!(r.code, 0, "{r:?}");
            h
        }
    };
    released.await.unwrap();
    probe.stop.store(true, Ordering::Relaxed);
    probe_task.await.unwrap();
    if phase != Phase::Backfill {
        // DDL needs the long transactions gone: zdm finished only after they ended.
        assert!(
            began.elapsed() >= HOLD,
            "zdm did not wait for the open transactions"
        );
    }

    let worst = Duration::from_micros(probe.worst_micros.load(Ordering::Relaxed));
    assert_eq!(probe.failures.load(Ordering::Relaxed), 0);
    assert!(probe.statements.load(Ordering::Relaxed) > 50);
    assert!(
        worst < Duration::from_millis(400),
        "the application waited {worst:?} behind zdm (lock timeout 50ms)"
    );
    let status = env.status_json().await;
    let state = &state_of(&status, "02_change")["state"];
    let want = match phase {
        Phase::Start | Phase::Backfill => "expanded",
        Phase::Complete => "completed",
        Phase::Rollback => "rolled_back",
    };
    assert_eq!(state, want, "{status}");
    let invalid = env
        .query_i64("SELECT count(*) FROM pg_index WHERE NOT indisvalid")
        .await;
    assert_eq!(invalid, 0);
    if phase == Phase::Complete {
        let wrong = env
            .query_i64(&format!("SELECT count(*) FROM accounts WHERE id <= {ROWS} AND name_upper IS DISTINCT FROM upper(name)"))
            .await;
        assert_eq!(wrong, 0);
        // The writer's update (balance + 1 on row 5) survived the swap.
        assert_eq!(
            env.query_i64("SELECT balance FROM accounts WHERE id = 5")
                .await,
            6
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn long_transactions_during_start() {
    during(Phase::Start).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn long_transactions_during_backfill() {
    during(Phase::Backfill).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn long_transactions_during_complete() {
    during(Phase::Complete).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn long_transactions_during_rollback() {
    during(Phase::Rollback).await;
}
