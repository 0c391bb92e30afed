//! A backfill killed with SIGKILL resumes from its checkpoint: nothing lost, nothing done twice.

mod common;

use common::{state_of, Env};
use std::time::{Duration, Instant};

const ROWS: i64 = 300_000;

#[tokio::test]
async fn kill_9_during_backfill_then_resume_finishes_it_exactly_once() {
    let env = Env::new().await;
    env.write(
        "01_items.yaml",
        "operations:\n  - create_table:\n      name: items\n      columns:\n        - name: id\n          type: bigserial\n          pk: true\n        - name: qty\n          type: integer\n",
    );
    let r = env.run(&["migrate", "--complete"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let c = env.db.connect().await;
    c.batch_execute(&format!("INSERT INTO public.items (qty) SELECT g FROM generate_series(1, {ROWS}) g; ANALYZE public.items")).await.unwrap();
    let file = env.write(
        "02_widen.yaml",
        "operations:\n  - alter_column:\n      table: items\n      column: qty\n      type: bigint\n      up: CAST(qty AS bigint) + 1000000000\n      down: CAST(qty - 1000000000 AS integer)\n",
    );
    let path = file.to_str().unwrap().to_string();
    let mut zdm = env
        .command(&[
            "start",
            &path,
            "--batch-target",
            "5ms",
            "--batch-delay",
            "5ms",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done: i64 = c
            .query_one("SELECT coalesce(max(rows_done), 0) FROM zdm.backfill_progress WHERE migration_id = '02_widen'", &[])
            .await
            .map(|r| r.get(0))
            .unwrap_or(0);
        if done >= 20_000 {
            break;
        }
        assert!(Instant::now() < deadline, "the backfill never got going");
        assert!(
            zdm.try_wait().unwrap().is_none(),
            "zdm finished before it could be killed; slow it down"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    zdm.kill().unwrap();
    zdm.wait().unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = env.status_json().await;
        let m = state_of(&status, "02_widen");
        if m["interrupted"] == true {
            assert_eq!(m["state"], "running");
            let b = &m["backfill"][0];
            assert_eq!(b["table"], "items", "{m}");
            assert_eq!(b["finished"], false);
            assert!(b["rows_done"].as_i64().unwrap() < ROWS, "{m}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not reported as interrupted: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let partial: i64 = c
        .query_one(
            "SELECT rows_done FROM zdm.backfill_progress WHERE migration_id = '02_widen'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(partial < ROWS, "killed part-way ({partial} rows)");

    let r = env.run(&["resume"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let status = env.status_json().await;
    assert_eq!(state_of(&status, "02_widen")["state"], "expanded");
    let done: i64 = c
        .query_one(
            "SELECT rows_done FROM zdm.backfill_progress WHERE migration_id = '02_widen'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        done, ROWS,
        "every row backfilled once: the killed batch rolled back with its checkpoint"
    );
    let wrong: i64 = c
        .query_one("SELECT count(*) FROM public.items WHERE \"_zdm_new_qty\" IS DISTINCT FROM qty::bigint + 1000000000", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(wrong, 0);
    let messages: Vec<String> = c
        .query(
            "SELECT message FROM zdm.events WHERE migration_id = '02_widen' ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("resuming") && m.contains("interrupted")),
        "{messages:?}"
    );

    let r = env.run(&["complete"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let sum: i64 = c
        .query_one(
            "SELECT sum(qty - 1000000000)::bigint FROM public.items",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(sum, ROWS * (ROWS + 1) / 2);
}
