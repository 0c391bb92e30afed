//! The ledger against real PostgreSQL: upgrades, state rules, the runner lock.

use zdm_core::state::{MigrationState, Phase};
use zdm_pg::ledger::transitions::RunStart;
use zdm_pg::ledger::InitOutcome;
use zdm_pg::{ConnectionSpec, Ledger, LockPolicy, Session};
use zdm_testkit::TestDb;

async fn session(db: &TestDb, schema: &str) -> Session {
    let spec = ConnectionSpec::parse(&db.url).unwrap();
    Session::open(&spec, schema, LockPolicy::default(), "test")
        .await
        .unwrap()
}

fn run<'a>(id: &'a str) -> RunStart<'a> {
    RunStart {
        id,
        checksum: "abc",
        kind: "sql",
        migration: serde_json::json!({}),
        parent: None,
        version_schema: None,
        plan: None,
    }
}

#[tokio::test]
async fn an_older_ledger_is_upgraded_in_place_keeping_its_rows() {
    let db = TestDb::create().await;
    let s = session(&db, "zdm").await;
    let ledger = Ledger::new("zdm");
    assert_eq!(
        ledger.init_to(&s.client, 1).await.unwrap(),
        InitOutcome::Created { version: 1 }
    );
    ledger
        .begin_run(&s.client, &run("001_a"), Phase::Apply)
        .await
        .unwrap();
    ledger
        .transition(
            &s.client,
            "001_a",
            MigrationState::Completed,
            Phase::Apply,
            "applied",
        )
        .await
        .unwrap();

    let latest = zdm_pg::ledger::schema::LATEST;
    assert!(latest >= 2);
    assert_eq!(
        ledger.init(&s.client).await.unwrap(),
        InitOutcome::Upgraded {
            from: 1,
            to: latest
        }
    );
    assert_eq!(
        ledger.init(&s.client).await.unwrap(),
        InitOutcome::UpToDate { version: latest }
    );
    let rec = ledger.record(&s.client, "001_a").await.unwrap().unwrap();
    assert_eq!(rec.state, MigrationState::Completed);
    assert!(rec.duration_ms.is_some());

    // A ledger from a newer zdm is refused, not clobbered.
    s.client
        .batch_execute("UPDATE zdm.ledger_version SET version = version + 1")
        .await
        .unwrap();
    let err = ledger.init(&s.client).await.unwrap_err().to_string();
    assert!(err.contains("newer zdm"), "{err}");
}

#[tokio::test]
async fn illegal_transitions_are_refused_and_logged_ones_are_atomic() {
    let db = TestDb::create().await;
    let s = session(&db, "custom schema").await;
    s.ledger.init(&s.client).await.unwrap();
    s.ledger
        .begin_run(&s.client, &run("001_a"), Phase::Apply)
        .await
        .unwrap();
    s.ledger
        .transition(
            &s.client,
            "001_a",
            MigrationState::Completed,
            Phase::Apply,
            "applied",
        )
        .await
        .unwrap();
    let err = s
        .ledger
        .begin_run(&s.client, &run("001_a"), Phase::Apply)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("is completed"), "{err}");
    let err = s
        .ledger
        .transition(
            &s.client,
            "001_a",
            MigrationState::Expanded,
            Phase::Start,
            "x",
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot move from completed to expanded"),
        "{err}"
    );
    let events = s
        .ledger
        .events(&s.client, Some("001_a"), None)
        .await
        .unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>(),
        ["started", "applied"]
    );
}

#[tokio::test]
async fn runner_lock_is_exclusive_per_ledger_schema() {
    let db = TestDb::create().await;
    let mut a = session(&db, "zdm").await;
    let mut b = session(&db, "zdm").await;
    let mut other = session(&db, "other").await;
    a.lock_for_writing().await.unwrap();
    match b.lock_for_writing().await {
        Err(zdm_pg::Error::Locked { holder, .. }) => {
            assert!(holder.application.starts_with("zdm test@"))
        }
        other => panic!("expected the lock error, got {:?}", other.map(|_| ())),
    }
    other
        .lock_for_writing()
        .await
        .expect("another ledger schema has its own lock");
    a.unlock().await.unwrap();
    b.lock_for_writing().await.unwrap();
}
