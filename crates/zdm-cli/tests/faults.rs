//! Killed at every checkpoint boundary. zdm's test build has failpoints compiled in; each case
//! aborts the process (what kill -9 does) at one point of start, backfill, complete, rollback or
//! a SQL migration, while an application writes through the old version. Then `zdm status` must
//! say the run was interrupted, the recovery (resume, or rollback) must finish it, and at the
//! end every row the application wrote is there and correct, no index is invalid, nothing of
//! zdm's is left behind, and the application saw no error.

mod common;

use common::{state_of, Env};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::Client;

const ROWS: i64 = 20_000;

const MIGRATION: &str = "operations:
  - add_column:
      table: accounts
      column: {name: name_upper, type: text, nullable: true}
      up: upper(name)
  - alter_column:
      table: accounts
      column: balance
      type: bigint
      up: CAST(balance AS bigint) * 100
      down: CAST(balance / 100 AS integer)
  - create_index: {name: accounts_name_idx, table: accounts, columns: [name]}
";

#[derive(Default)]
struct Load {
    stop: AtomicBool,
    statements: AtomicU64,
    failures: AtomicU64,
}

/// Writes through the old version (the tables themselves: this is the first migration) until
/// stopped; returns what it expects: id → balance, None once deleted.
async fn writer(c: Client, load: Arc<Load>, part: u64) -> HashMap<i64, Option<i32>> {
    let seed = 0x9e37_79b9 + part;
    let mut x = seed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut mine = HashMap::new();
    let mut ids = Vec::new();
    while !load.stop.load(Ordering::Relaxed) {
        let balance = (next() % 100_000) as i32;
        let r = match next() % 4 {
            0 | 1 => c
                .query_one(
                    "INSERT INTO accounts (name, balance) VALUES ('w' || $1::int, $1) RETURNING id",
                    &[&balance],
                )
                .await
                .map(|row| {
                    let id: i64 = row.get(0);
                    mine.insert(id, Some(balance));
                    ids.push(id);
                }),
            2 => {
                // Each writer updates its own half of the rows, so the expectations merge.
                let id = ((next() % (ROWS as u64 / 2)) * 2 + part) as i64 + 1;
                c.execute(
                    "UPDATE accounts SET balance = $2 WHERE id = $1",
                    &[&id, &balance],
                )
                .await
                .map(|n| {
                    if n == 1 {
                        mine.insert(id, Some(balance));
                    }
                })
            }
            _ if !ids.is_empty() => {
                let id = ids.swap_remove((next() as usize) % ids.len());
                c.execute("DELETE FROM accounts WHERE id = $1", &[&id])
                    .await
                    .map(|_| {
                        mine.insert(id, None);
                    })
            }
            _ => Ok(()),
        };
        load.statements.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = r {
            load.failures.fetch_add(1, Ordering::Relaxed);
            eprintln!("application statement failed: {e:?}");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    mine
}

/// What the recovery must end in.
#[derive(Clone, Copy, PartialEq, Debug)]
enum End {
    Completed,
    RolledBack,
}

struct Scenario {
    /// `ZDM_FAILPOINTS` for the run that is killed.
    failpoint: &'static str,
    /// The commands run one after the other; the last one is killed at the failpoint.
    killed: &'static [&'static str],
    /// The commands that recover, in order.
    recover: &'static [&'static str],
    end: End,
}

async fn leftovers(c: &Client) -> Vec<String> {
    c.query(
        "SELECT 'column ' || column_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name LIKE '\\_zdm\\_%' AND column_name NOT LIKE '\\_zdm\\_archived\\_%' \
         UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger WHERE tgname LIKE '\\_zdm\\_%' \
         UNION ALL SELECT 'constraint ' || conname FROM pg_constraint WHERE conname LIKE '\\_zdm\\_%' \
         UNION ALL SELECT 'index ' || indexname FROM pg_indexes WHERE indexname LIKE '\\_zdm\\_%' \
         UNION ALL SELECT 'invalid index ' || indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid \
         UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE proname LIKE '\\_zdm\\_%'",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

async fn run_scenario(s: &Scenario) {
    let env = Env::new().await;
    let c = env.db.connect().await;
    c.batch_execute(&format!(
        "CREATE TABLE accounts (id bigserial PRIMARY KEY, name text NOT NULL, balance integer NOT NULL DEFAULT 0); \
         INSERT INTO accounts (name, balance) SELECT 'a' || g, g % 1000 FROM generate_series(1, {ROWS}) g; ANALYZE accounts"
    ))
    .await
    .unwrap();
    let file = env.write("02_change.yaml", MIGRATION);
    let path = file.to_str().unwrap();
    let load = Arc::new(Load::default());
    let mut writers = Vec::new();
    for i in 0..2 {
        let (load, client) = (load.clone(), env.db.connect().await);
        writers.push(tokio::spawn(writer(client, load, i)));
    }
    let args = |cmd: &str| -> Vec<String> {
        let mut a = vec![cmd.to_string()];
        if cmd == "start" {
            a.push(path.to_string());
        }
        a.extend(
            [
                "--batch-target",
                "5ms",
                "--lock-timeout",
                "50ms",
                "--lock-retries",
                "200",
            ]
            .map(String::from),
        );
        if cmd == "complete" {
            a.extend(["--in-use-window", "0s"].map(String::from));
        }
        a
    };
    // The old version is gone once the contract runs: the application has moved on by then.
    let mut writers = Some(writers);
    let mut expected = HashMap::new();
    let mut stop_load = async || {
        if let Some(ws) = writers.take() {
            load.stop.store(true, Ordering::Relaxed);
            for w in ws {
                expected.extend(w.await.unwrap());
            }
        }
    };
    let (last, before) = s.killed.split_last().unwrap();
    for cmd in before {
        if *cmd == "complete" {
            stop_load().await;
        }
        let a = args(cmd);
        let r = env
            .run(&a.iter().map(String::as_str).collect::<Vec<_>>())
            .await;
        assert_eq!(r.code, 0, "{}: {cmd}: {r:?}", s.failpoint);
    }
    if *last == "complete" {
        stop_load().await;
    }
    let a = args(last);
    let mut cmd = env.command(&a.iter().map(String::as_str).collect::<Vec<_>>());
    cmd.env("ZDM_FAILPOINTS", s.failpoint);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let killed = common::to_run(out);
    assert!(
        killed.stderr.contains("failpoint"),
        "{}: the run was not killed at its failpoint: {killed:?}",
        s.failpoint
    );
    // The killed runner's session ends as soon as PostgreSQL sees its socket closed.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = env.status_json().await;
        let m = state_of(&status, "02_change");
        if m["interrupted"] == true {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{}: status after the kill: {m}",
            s.failpoint
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for cmd in s.recover {
        if *cmd == "complete" || s.killed.contains(&"complete") {
            stop_load().await;
        }
        let a = args(cmd);
        let r = env
            .run(&a.iter().map(String::as_str).collect::<Vec<_>>())
            .await;
        assert_eq!(r.code, 0, "{}: recovery {cmd}: {r:?}", s.failpoint);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop_load().await;
    assert_eq!(
        load.failures.load(Ordering::Relaxed),
        0,
        "{}: the application saw errors",
        s.failpoint
    );
    assert!(load.statements.load(Ordering::Relaxed) > 50);

    let status = env.status_json().await;
    let state = state_of(&status, "02_change")["state"].clone();
    let want = match s.end {
        End::Completed => "completed",
        End::RolledBack => "rolled_back",
    };
    assert_eq!(state, want, "{}: {status}", s.failpoint);
    assert_eq!(leftovers(&c).await, Vec::<String>::new(), "{}", s.failpoint);

    // Every row: present or deleted as the application left it, its values right.
    let factor: i64 = if s.end == End::Completed { 100 } else { 1 };
    let rows = c
        .query("SELECT id, balance::bigint FROM accounts", &[])
        .await
        .unwrap();
    let actual: HashMap<i64, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    for (id, want) in &expected {
        match want {
            Some(b) => assert_eq!(
                actual.get(id),
                Some(&(*b as i64 * factor)),
                "{}: row {id} (written {b})",
                s.failpoint
            ),
            None => assert!(
                !actual.contains_key(id),
                "{}: deleted row {id} is back",
                s.failpoint
            ),
        }
    }
    let mut untouched = 0;
    for id in 1..=ROWS {
        if !expected.contains_key(&id) {
            assert_eq!(
                actual.get(&id),
                Some(&(id % 1000 * factor)),
                "{}: untouched row {id}",
                s.failpoint
            );
            untouched += 1;
        }
    }
    assert!(untouched > ROWS / 2, "{}: {untouched}", s.failpoint);
    if s.end == End::Completed {
        let wrong: i64 = c
            .query_one(
                "SELECT count(*) FROM accounts WHERE name_upper IS DISTINCT FROM upper(name)",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(wrong, 0, "{}: name_upper not filled", s.failpoint);
        let valid: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_indexes WHERE indexname = 'accounts_name_idx'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(valid, 1, "{}", s.failpoint);
    } else {
        let cols: i64 = c
            .query_one(
                "SELECT count(*) FROM information_schema.columns WHERE table_name = 'accounts'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(cols, 3, "{}: rollback left columns", s.failpoint);
    }
}

macro_rules! scenarios {
    ($($name:ident: $failpoint:expr, $killed:expr => $recover:expr, $end:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread")]
        async fn $name() {
            run_scenario(&Scenario { failpoint: $failpoint, killed: $killed, recover: $recover, end: $end }).await;
        }
    )*};
}

use End::{Completed, RolledBack};
scenarios! {
    start_after_the_run_is_recorded_then_resume:
        "start.begun=return", &["start"] => &["resume", "complete"], Completed;
    start_after_the_run_is_recorded_then_rollback:
        "start.begun=return", &["start"] => &["rollback"], RolledBack;
    start_inside_the_expand_transaction_then_resume:
        "start.group_uncommitted=return", &["start"] => &["resume", "complete"], Completed;
    start_after_the_expand_commits_then_resume:
        "start.group_done=return", &["start"] => &["resume", "complete"], Completed;
    start_after_the_expand_commits_then_rollback:
        "start.group_done=return", &["start"] => &["rollback"], RolledBack;
    start_with_the_index_built_but_not_recorded_then_resume:
        "start.group_uncommitted=1*off->return", &["start"] => &["resume", "complete"], Completed;
    start_with_the_index_built_but_not_recorded_then_rollback:
        "start.group_uncommitted=1*off->return", &["start"] => &["rollback"], RolledBack;
    backfill_inside_a_batch_then_resume:
        "backfill.batch_uncommitted=3*off->return", &["start"] => &["resume", "complete"], Completed;
    backfill_after_a_batch_then_resume:
        "backfill.batch_done=4*off->return", &["start"] => &["resume", "complete"], Completed;
    backfill_after_a_batch_then_rollback:
        "backfill.batch_done=4*off->return", &["start"] => &["rollback"], RolledBack;
    start_before_the_version_schema_then_resume:
        "start.before_views=return", &["start"] => &["resume", "complete"], Completed;
    start_before_the_version_schema_then_rollback:
        "start.before_views=return", &["start"] => &["rollback"], RolledBack;
    complete_after_it_is_recorded_then_resume:
        "complete.begun=return", &["start", "complete"] => &["resume"], Completed;
    complete_after_the_restore_point_then_resume:
        "complete.restore_point=return", &["start", "complete"] => &["complete"], Completed;
    complete_inside_a_contract_transaction_then_resume:
        "complete.group_uncommitted=return", &["start", "complete"] => &["resume"], Completed;
    complete_after_a_contract_transaction_then_resume:
        "complete.group_done=return", &["start", "complete"] => &["resume"], Completed;
    complete_before_it_is_recorded_done_then_resume:
        "complete.before_done=return", &["start", "complete"] => &["resume"], Completed;
    rollback_after_it_is_recorded_then_again:
        "rollback.begun=return", &["start", "rollback"] => &["rollback"], RolledBack;
    rollback_inside_an_undo_transaction_then_again:
        "rollback.group_uncommitted=return", &["start", "rollback"] => &["rollback"], RolledBack;
    rollback_after_an_undo_transaction_then_resume:
        "rollback.group_done=return", &["start", "rollback"] => &["resume"], RolledBack;
    rollback_before_it_is_recorded_done_then_again:
        "rollback.before_done=return", &["start", "rollback"] => &["rollback"], RolledBack;
}

/// A SQL migration killed between (or inside) its statements: `zdm migrate` resumes where it
/// stopped, every statement applied exactly once.
async fn sql_scenario(failpoint: &str, body: &str) {
    let env = Env::new().await;
    let c = env.db.connect().await;
    c.batch_execute(&format!(
        "CREATE TABLE accounts (id bigserial PRIMARY KEY, name text NOT NULL, balance integer NOT NULL DEFAULT 0); \
         INSERT INTO accounts (name, balance) SELECT 'a' || g, g % 1000 FROM generate_series(1, {ROWS}) g"
    ))
    .await
    .unwrap();
    env.write("02_change.sql", body);
    let load = Arc::new(Load::default());
    let mut writers = Vec::new();
    for i in 0..2 {
        let (load, client) = (load.clone(), env.db.connect().await);
        writers.push(tokio::spawn(writer(client, load, i)));
    }
    let mut cmd = env.command(&["migrate"]);
    cmd.env("ZDM_FAILPOINTS", failpoint);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let killed = common::to_run(out);
    assert!(
        killed.stderr.contains("failpoint"),
        "{failpoint}: {killed:?}"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while state_of(&env.status_json().await, "02_change")["interrupted"] != true {
        assert!(
            std::time::Instant::now() < deadline,
            "{failpoint}: not reported interrupted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = env.run(&["migrate"]).await;
    assert_eq!(r.code, 0, "{failpoint}: {r:?}");
    load.stop.store(true, Ordering::Relaxed);
    let mut expected = HashMap::new();
    for w in writers {
        expected.extend(w.await.unwrap());
    }
    assert_eq!(load.failures.load(Ordering::Relaxed), 0, "{failpoint}");
    assert_eq!(
        state_of(&env.status_json().await, "02_change")["state"],
        "completed"
    );
    assert_eq!(leftovers(&c).await, Vec::<String>::new(), "{failpoint}");
    // Applied exactly once: one audit row per statement of the file.
    let audit: Vec<String> = c
        .query("SELECT what FROM audit ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(audit, ["one", "two"], "{failpoint}");
    for (id, want) in &expected {
        let got: Option<i32> = c
            .query_opt("SELECT balance FROM accounts WHERE id = $1", &[id])
            .await
            .unwrap()
            .map(|r| r.get(0));
        assert_eq!(&got, want, "{failpoint}: row {id}");
    }
}

const SQL_BY_STATEMENT: &str = "-- zdm:no-transaction
CREATE TABLE audit (id serial PRIMARY KEY, what text);
INSERT INTO audit (what) VALUES ('one');
CREATE INDEX CONCURRENTLY accounts_name_idx ON accounts (name);
INSERT INTO audit (what) VALUES ('two');
";

const SQL_IN_ONE_TRANSACTION: &str = "CREATE TABLE audit (id serial PRIMARY KEY, what text);
INSERT INTO audit (what) VALUES ('one');
ALTER TABLE accounts ADD COLUMN note text;
INSERT INTO audit (what) VALUES ('two');
";

#[tokio::test(flavor = "multi_thread")]
async fn sql_after_a_statement_commits_then_migrate() {
    sql_scenario("sql.statement_done=1*off->return", SQL_BY_STATEMENT).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_inside_a_statement_then_migrate() {
    sql_scenario("sql.statement_uncommitted=1*off->return", SQL_BY_STATEMENT).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_with_the_concurrent_index_built_but_not_recorded_then_migrate() {
    sql_scenario("sql.statement_uncommitted=2*off->return", SQL_BY_STATEMENT).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_transaction_before_it_commits_then_migrate() {
    sql_scenario("sql.transaction_uncommitted=return", SQL_IN_ONE_TRANSACTION).await;
}
