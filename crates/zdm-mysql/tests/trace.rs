//! DDL traces against real MariaDB: the algorithm the server picks, table rebuilds, and (with
//! performance_schema) the metadata locks.

use zdm_mysql::trace::{trace_statements, Algorithm, Scratch};
use zdm_testkit::mariadb::{shared_url, PrivateMariadb};

fn stmts(sql: &[&str]) -> Vec<String> {
    sql.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn algorithms_and_rebuilds_are_what_the_server_does() {
    let scratch = Scratch::create(&shared_url()).await.unwrap();
    let traces = trace_statements(
        &scratch,
        &stmts(&[
            "CREATE TABLE t (id bigint PRIMARY KEY, qty int, note varchar(20)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            "INSERT INTO t VALUES (1, 1, 'a'), (2, 2, 'b')",
            "ALTER TABLE t ADD COLUMN extra int",
            "ALTER TABLE t MODIFY note varchar(40)",
            "ALTER TABLE t MODIFY qty bigint",
            "ALTER TABLE t ADD INDEX t_note (note)",
            "ALTER TABLE t ADD COLUMN c2 int, ALGORITHM=COPY",
        ]),
    )
    .await
    .unwrap();
    for t in &traces {
        println!(
            "{:<60} {:?} rebuilt {:?} {:?}",
            t.sql, t.algorithm, t.rebuilt, t.error
        );
    }
    scratch.drop().await.unwrap();
    assert!(traces.iter().all(|t| t.error.is_none()));
    let algo: Vec<Algorithm> = traces.iter().map(|t| t.algorithm).collect();
    assert_eq!(
        algo,
        [
            Algorithm::AsWritten,
            Algorithm::AsWritten,
            Algorithm::Instant,
            Algorithm::Instant,
            Algorithm::Copy,
            Algorithm::InplaceLockNone,
            Algorithm::AsWritten,
        ]
    );
    assert!(traces[2].rebuilt.is_empty());
    assert!(traces[3].rebuilt.is_empty());
    assert_eq!(traces[4].rebuilt, ["t"]);
    assert!(
        traces[5].rebuilt.is_empty(),
        "an index build is not a rebuild"
    );
    assert_eq!(traces[6].rebuilt, ["t"]);
    // The shared test server runs without performance_schema.
    assert!(traces[2].metadata_locks.is_none());
}

#[tokio::test]
async fn metadata_locks_are_read_from_performance_schema() {
    let server = tokio::task::spawn_blocking(|| {
        PrivateMariadb::start(&[
            "--performance-schema=ON",
            "--performance-schema-instrument=wait/lock/metadata/sql/mdl=ON",
        ])
    })
    .await
    .unwrap();
    let scratch = Scratch::create(&server.url).await.unwrap();
    let traces = trace_statements(
        &scratch,
        &stmts(&[
            "CREATE TABLE p (id bigint PRIMARY KEY) ENGINE=InnoDB",
            "CREATE TABLE c (id bigint PRIMARY KEY, p_id bigint) ENGINE=InnoDB",
            "ALTER TABLE c ADD COLUMN n int",
            "ALTER TABLE c ADD CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id)",
        ]),
    )
    .await
    .unwrap();
    for t in &traces {
        println!("{:<60} {:?} {:?}", t.sql, t.algorithm, t.metadata_locks);
    }
    scratch.drop().await.unwrap();
    let add = traces[2].metadata_locks.as_ref().expect("recorded");
    assert!(
        add.iter()
            .any(|l| l.object == "c" && l.lock_type == "SHARED_UPGRADABLE"),
        "{add:?}"
    );
    assert!(
        add.iter()
            .any(|l| l.object == "c" && l.lock_type == "EXCLUSIVE" && l.status == "PENDING"),
        "{add:?}"
    );
    assert_eq!(
        traces[3].algorithm,
        Algorithm::Copy,
        "FK with foreign_key_checks=1 copies"
    );
    let fk = traces[3].metadata_locks.as_ref().expect("recorded");
    assert!(
        fk.iter().any(|l| l.object == "p"),
        "the parent is locked too: {fk:?}"
    );
}
