//! `zdm move` against a private MariaDB with a ROW binlog (source) and the suite's PostgreSQL
//! (target): every conversion, the change stream, kill -9 during the copy and the follow, two
//! workers sharing a copy, and the refusals.

mod common;

use common::{to_run, zdm_bin, Run};
use mysql_async::prelude::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zdm_testkit::mariadb::PrivateMariadb;
use zdm_testkit::TestDb;

struct Move {
    _src: PrivateMariadb,
    db: TestDb,
    source_url: String,
}

impl Move {
    async fn new(setup: &str) -> Move {
        let src = PrivateMariadb::start(&[
            "--log-bin=mysql-bin",
            "--binlog-format=ROW",
            "--server-id=1",
            "--character-set-server=utf8mb4",
        ]);
        let mut c = mysql_async::Conn::from_url(&src.url).await.unwrap();
        c.query_drop("CREATE DATABASE shop CHARACTER SET utf8mb4")
            .await
            .unwrap();
        let mut c = mysql_async::Conn::from_url(format!("{}/shop", src.url))
            .await
            .unwrap();
        c.query_drop("SET NAMES utf8mb4").await.unwrap();
        for stmt in setup.split(";\n").filter(|s| !s.trim().is_empty()) {
            c.query_drop(stmt)
                .await
                .unwrap_or_else(|e| panic!("{stmt}: {e}"));
        }
        let source_url = format!("{}/shop", src.url);
        Move {
            _src: src,
            db: TestDb::create().await,
            source_url,
        }
    }

    async fn mysql(&self) -> mysql_async::Conn {
        let mut c = mysql_async::Conn::from_url(&self.source_url).await.unwrap();
        c.query_drop("SET NAMES utf8mb4").await.unwrap();
        c
    }

    async fn exec(&self, sql: &str) {
        let mut c = self.mysql().await;
        for stmt in sql.split(";\n").filter(|s| !s.trim().is_empty()) {
            c.query_drop(stmt)
                .await
                .unwrap_or_else(|e| panic!("{stmt}: {e}"));
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(zdm_bin());
        c.args(args)
            .env("ZDM_SOURCE_URL", &self.source_url)
            .env("ZDM_TARGET_URL", &self.db.url)
            .env_remove("DATABASE_URL");
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        to_run(self.cmd(args).output().unwrap())
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.cmd(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn status(&self) -> serde_json::Value {
        let r = self.run(&["move", "status", "--json"]);
        serde_json::from_str(&r.stdout).unwrap_or(serde_json::Value::Null)
    }

    /// Waits until `pred` holds for the status (panics after `secs`).
    fn wait_for(
        &self,
        secs: u64,
        what: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.status();
            if pred(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {s:#}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until the applied position reaches the source's current position and the job
    /// has converged.
    async fn wait_caught_up(&self, secs: u64) {
        let mut c = self.mysql().await;
        let row: mysql_async::Row = c.query_first("SHOW MASTER STATUS").await.unwrap().unwrap();
        let (file, pos): (String, u64) = (row.get(0).unwrap(), row.get(1).unwrap());
        self.wait_for(secs, "the change stream to catch up", |s| {
            s["converged"] == true
                && s["position"]["file"]
                    .as_str()
                    .map(|f| {
                        (f.to_string(), s["position"]["pos"].as_u64().unwrap_or(0))
                            >= (file.clone(), pos)
                    })
                    .unwrap_or(false)
        });
    }

    async fn pg_rows(&self, sql: &str) -> Vec<String> {
        let c = self.db.connect().await;
        c.query(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .iter()
            .map(|r| {
                r.get::<_, Option<String>>(0)
                    .unwrap_or_else(|| "NULL".into())
            })
            .collect()
    }

    async fn my_rows(&self, sql: &str) -> Vec<String> {
        let mut c = self.mysql().await;
        let rows: Vec<Option<String>> = c.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.into_iter()
            .map(|r| r.unwrap_or_else(|| "NULL".into()))
            .collect()
    }
}

fn kill9(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

const TYPES: &str = "
CREATE TABLE types (
  id int PRIMARY KEY,
  b tinyint(1), ti tinyint, tiu tinyint unsigned, si smallint, siu smallint unsigned, mi mediumint, miu mediumint unsigned,
  i int, iu int unsigned, bi bigint, biu bigint unsigned,
  d decimal(65,30), d2 decimal(10,2), f float, db double, bit1 bit(1), bit9 bit(9),
  c char(5), vc varchar(20), tx text, bin binary(4), vb varbinary(10), bl blob,
  dt date, dtm datetime(6), ts timestamp(3) NULL, tm time(2), yr year,
  e enum('small','medium','large'), st set('a','b','c'), j json
);
INSERT INTO types VALUES
 (1, 1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
  '-12345678901234567890123456789012345.123456789012345678901234567890', '-0.01', 3.5, 2.718281828459045, b'1', b'100000001',
  'ab', 'héllo 😀', 'long text', 0x01020000, 0x00ff, 0xdeadbeef,
  '2024-02-29', '2024-02-29 23:59:59.999999', '2038-01-19 03:14:07.999', '23:59:59.99', 2155, 'large', 'a,c', '{\"k\": 12345678901234567890, \"u\": \"é\", \"n\": [1, 2.50]}'),
 (2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '0', '0', 0, 0, b'0', b'0', '', '', '', 0x00000000, '', '', '0000-00-00', '0000-00-00 00:00:00', NULL, '00:00:00', 0, 'small', '', '[]'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
CREATE TABLE latin (id int PRIMARY KEY, name varchar(20) CHARACTER SET latin1);
INSERT INTO latin VALUES (1, 'Ça coûte 5€');
CREATE TABLE parent (id int AUTO_INCREMENT PRIMARY KEY, code varchar(10) NOT NULL, UNIQUE KEY (code));
CREATE TABLE child (id int AUTO_INCREMENT PRIMARY KEY, parent_id int NOT NULL, note varchar(10), KEY (parent_id), FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE);
INSERT INTO parent (code) VALUES ('p1'), ('p2');
INSERT INTO child (parent_id, note) VALUES (1, 'c1'), (1, 'c2'), (2, 'c3')";

const TYPES_SQL: &str = "SELECT concat_ws('|', id, b, ti, tiu, si, siu, mi, miu, i, iu, bi, biu, d, d2, f, db, bit1, bit9, c, vc, tx, \
    encode(bin, 'hex'), encode(vb, 'hex'), encode(bl, 'hex'), dt, dtm, ts AT TIME ZONE 'UTC', tm, yr, e, array_to_string(st, ','), j::text) FROM shop.types ORDER BY id";

#[tokio::test(flavor = "multi_thread")]
async fn move_copies_then_follows_every_type() {
    let m = Move::new(TYPES).await;
    let plan = m.run(&["move", "plan"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout.contains("CREATE TABLE \"shop\".\"types\""),
        "{plan:?}"
    );
    let mut start = m.spawn(&["move", "start", "--workers", "2"]);
    m.wait_caught_up(60).await;
    let copied = m.pg_rows(TYPES_SQL).await;
    assert_eq!(
        copied,
        vec![
            "1|t|-128|255|-32768|65535|-8388608|16777215|-2147483648|4294967295|-9223372036854775808|18446744073709551615|-12345678901234567890123456789012345.123456789012345678901234567890|-0.01|3.5|2.718281828459045|t|100000001|ab|héllo 😀|long text|01020000|00ff|deadbeef|2024-02-29|2024-02-29 23:59:59.999999|2038-01-19 03:14:07.999|23:59:59.99|2155|large|a,c|{\"k\": 12345678901234567890, \"n\": [1, 2.50], \"u\": \"é\"}",
            "2|f|0|0|0|0|0|0|0|0|0|0|0.000000000000000000000000000000|0.00|0|0|f|000000000||||00000000|||00:00:00|0|small||[]",
            "3",
        ]
    );
    assert_eq!(
        m.pg_rows("SELECT name FROM shop.latin").await,
        vec!["Ça coûte 5€"]
    );
    // The same values through the binlog: rewrite every row from the source.
    m.exec(
        "UPDATE types SET id = id + 10;
INSERT INTO latin VALUES (2, 'Zoë');
UPDATE parent SET code = 'p1b' WHERE id = 1;
DELETE FROM parent WHERE id = 2;
BEGIN;
INSERT INTO parent (code) VALUES ('p3');
INSERT INTO child (parent_id, note) VALUES (LAST_INSERT_ID(), 'c4');
COMMIT;
ALTER TABLE child ADD COLUMN extra int DEFAULT 7",
    )
    .await;
    m.exec("INSERT INTO child (parent_id, note, extra) VALUES (1, 'c5', 42)")
        .await;
    m.wait_caught_up(60).await;
    let replayed = m.pg_rows(TYPES_SQL).await;
    let shifted: Vec<String> = copied
        .iter()
        .map(|r| {
            let (id, rest) = r.split_once('|').unwrap_or((r, ""));
            let id: i32 = id.parse().unwrap();
            if rest.is_empty() {
                format!("{}", id + 10)
            } else {
                format!("{}|{rest}", id + 10)
            }
        })
        .collect();
    assert_eq!(
        replayed, shifted,
        "values replayed through the binlog differ from the copied ones"
    );
    assert_eq!(
        m.pg_rows("SELECT string_agg(name, ',' ORDER BY id) FROM shop.latin")
            .await,
        vec!["Ça coûte 5€,Zoë"]
    );
    // ON DELETE CASCADE done by InnoDB (not in the binlog) is done on the target too.
    assert_eq!(
        m.pg_rows("SELECT string_agg(concat_ws(':', c.id, p.code, c.note, c.extra), ',' ORDER BY c.id) FROM shop.child c JOIN shop.parent p ON p.id = c.parent_id").await,
        vec!["1:p1b:c1:7,2:p1b:c2:7,4:p3:c4:7,5:p1b:c5:42"]
    );
    // Unique index and foreign key arrive once converged; ids continue past the source's.
    m.wait_for(60, "constraints", |s| s["constraints_built"] == true);
    let c = m.db.connect().await;
    let fk: i64 = c.query_one("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated AND conrelid = 'shop.child'::regclass", &[]).await.unwrap().get(0);
    assert_eq!(fk, 1);
    assert!(
        c.execute("INSERT INTO shop.parent (code) VALUES ('p1b')", &[])
            .await
            .is_err(),
        "unique index missing"
    );
    let next: i32 = c
        .query_one(
            "INSERT INTO shop.parent (code) VALUES ('new') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(next > 3, "identity continues past the source's ids: {next}");
    let s = m.status();
    assert_eq!(s["phase"], "following");
    assert!(s["applied_events"].as_i64().unwrap() > 5, "{s:#}");
    assert!(s["lag_seconds"].as_f64().unwrap() < 5.0, "{s:#}");
    let stop = m.run(&["move", "stop"]);
    assert_eq!(stop.code, 0, "{stop:?}");
    let code = start.wait().unwrap();
    assert!(code.success(), "move start exited {code:?}");
    assert_eq!(m.status()["phase"], "stopped");
    let abort = m.run(&["move", "abort", "--yes"]);
    assert_eq!(abort.code, 0, "{abort:?}");
    let left: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'shop'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "abort left the schema behind");
}

const LOAD_TABLE: &str = "
CREATE TABLE items (id int AUTO_INCREMENT PRIMARY KEY, k varchar(20) NOT NULL, n int NOT NULL, amount decimal(12,2), KEY (k))";

async fn load_rows(m: &Move, rows: usize) {
    let mut c = m.mysql().await;
    let mut i = 0;
    while i < rows {
        let values: Vec<String> = (i..(i + 2000).min(rows))
            .map(|j| format!("('k{}', {j}, {}.{:02})", j % 97, j, j % 100))
            .collect();
        c.query_drop(format!(
            "INSERT INTO items (k, n, amount) VALUES {}",
            values.join(",")
        ))
        .await
        .unwrap();
        i += 2000;
    }
}

/// Application load on the source: inserts, updates (some changing the key), deletes, multi-row
/// transactions. Returns the number of statements that failed (must stay 0).
async fn app_load(
    url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    seed: u64,
) -> u64 {
    let mut c = mysql_async::Conn::from_url(&url).await.unwrap();
    let mut n = seed;
    let mut failed = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        n = n
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let id = (n >> 33) % 30000 + 1;
        let r = match (n >> 20) % 6 {
            0 => {
                c.query_drop(format!(
                    "INSERT INTO items (k, n, amount) VALUES ('new{}', {}, 1.50)",
                    n % 1000,
                    n % 100000
                ))
                .await
            }
            1 => {
                c.query_drop(format!(
                    "UPDATE items SET n = n + 1, amount = amount + 0.25 WHERE id = {id}"
                ))
                .await
            }
            2 => {
                c.query_drop(format!("DELETE FROM items WHERE id = {id}"))
                    .await
            }
            3 => {
                c.query_drop(format!(
                    "UPDATE IGNORE items SET id = id + 1000000 WHERE id = {id}"
                ))
                .await
            }
            4 => {
                let mut tx = c
                    .start_transaction(mysql_async::TxOpts::default())
                    .await
                    .unwrap();
                let r1 = tx
                    .query_drop(format!("UPDATE items SET k = 'tx' WHERE id = {id}"))
                    .await;
                let r2 = tx
                    .query_drop("INSERT INTO items (k, n) VALUES ('tx2', 1)")
                    .await;
                let r3 = tx.commit().await;
                r1.and(r2).and(r3)
            }
            _ => {
                c.query_drop(format!(
                    "UPDATE items SET k = left(concat(k, 'x'), 20) WHERE id BETWEEN {id} AND {}",
                    id + 5
                ))
                .await
            }
        };
        if let Err(e) = r {
            eprintln!("application statement failed: {e}");
            failed += 1;
        }
    }
    failed
}

async fn assert_equal(m: &Move) {
    let src = m
        .my_rows("SELECT concat_ws('|', id, k, n, amount) FROM items ORDER BY id")
        .await;
    let dst = m
        .pg_rows("SELECT concat_ws('|', id, k, n, amount) FROM shop.items ORDER BY id")
        .await;
    assert_eq!(src.len(), dst.len(), "row counts differ");
    let diffs: Vec<(&String, &String)> = src
        .iter()
        .zip(&dst)
        .filter(|(a, b)| a != b)
        .take(5)
        .collect();
    assert!(diffs.is_empty(), "rows differ: {diffs:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_copy_and_follow_under_load_loses_nothing() {
    let m = Move::new(LOAD_TABLE).await;
    load_rows(&m, 150_000).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = tokio::spawn(app_load(m.source_url.clone(), stop.clone(), 7));
    // A second worker process shares the copy; both are killed mid-way.
    let args = [
        "move",
        "start",
        "--workers",
        "1",
        "--chunk-rows",
        "2000",
        "--lease",
        "2s",
    ];
    let mut start = m.spawn(&args);
    m.wait_for(60, "a job", |s| s["job"].is_string());
    let mut worker = m.spawn(&[
        "move",
        "worker",
        "--workers",
        "1",
        "--chunk-rows",
        "2000",
        "--lease",
        "2s",
    ]);
    m.wait_for(60, "some chunks", |s| {
        s["tables"][0]["chunks_done"].as_i64().unwrap_or(0) >= 3
    });
    kill9(&mut worker);
    kill9(&mut start);
    let s = m.status();
    assert!(
        s["tables"][0]["chunks_done"].as_i64().unwrap()
            < s["tables"][0]["chunks"].as_i64().unwrap(),
        "the copy was already done: {s:#}"
    );
    // Resume: finishes the copy, takes over the dead worker's chunks after their lease.
    let mut start = m.spawn(&args);
    m.wait_for(120, "following", |s| s["converged"] == true);
    std::thread::sleep(Duration::from_millis(800));
    kill9(&mut start);
    let mut start = m.spawn(&args);
    std::thread::sleep(Duration::from_millis(1500));
    kill9(&mut start);
    let mut start = m.spawn(&args);
    std::thread::sleep(Duration::from_millis(1000));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let failed = load.await.unwrap();
    assert_eq!(failed, 0, "application statements failed");
    m.wait_caught_up(120).await;
    assert_equal(&m).await;
    kill9(&mut start);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_with_a_clear_error() {
    // No primary key: refused, naming the table.
    let m = Move::new(
        "CREATE TABLE nokey (a int, b int);
CREATE TABLE t (id int PRIMARY KEY, tm time, s varchar(10));
INSERT INTO t VALUES (1, '838:00:00', 'ok')",
    )
    .await;
    let plan = m.run(&["move", "plan"]);
    assert_eq!(plan.code, 7, "{plan:?}");
    assert!(
        plan.stderr.contains("nokey") && plan.stderr.contains("primary key"),
        "{plan:?}"
    );
    // TIME out of PostgreSQL's range: the error names table, column and key.
    let r = m.run(&["move", "start", "--exclude", "nokey", "--until-caught-up"]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("t.tm (key id=1)") && r.stderr.contains("838:00:00"),
        "{r:?}"
    );
    assert_eq!(m.status()["phase"], "failed");
    // The cast rule keeps it; a re-copy after aborting works.
    assert_eq!(m.run(&["move", "abort", "--yes"]).code, 0);
    let cast = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(cast.path(), "types:\n  time: interval\n").unwrap();
    let r = m.run(&[
        "move",
        "start",
        "--exclude",
        "nokey",
        "--until-caught-up",
        "--cast",
        cast.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        m.pg_rows("SELECT tm::text FROM shop.t").await,
        vec!["838:00:00"]
    );
    // DDL other than ADD COLUMN stops the job, naming the statement; nothing past it is applied.
    m.exec(
        "INSERT INTO t VALUES (2, '01:00:00', 'before');
ALTER TABLE t DROP COLUMN s;
INSERT INTO t VALUES (3, '02:00:00')",
    )
    .await;
    let r = m.run(&["move", "start", "--exclude", "nokey", "--until-caught-up"]);
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stderr.contains("DROP COLUMN s") && r.stderr.contains("--skip-statement"),
        "{r:?}"
    );
    assert_eq!(
        m.pg_rows("SELECT string_agg(id::text, ',' ORDER BY id) FROM shop.t")
            .await,
        vec!["1,2"]
    );
    // A source without a binlog (the shared server) is refused up front.
    let shared = format!("{}/mysql", zdm_testkit::mariadb::shared_url());
    let other = TestDb::create().await;
    let r = to_run(
        Command::new(zdm_bin())
            .args([
                "move", "start", "--source", &shared, "--target", &other.url, "--tables", "db",
            ])
            .output()
            .unwrap(),
    );
    assert_ne!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("binary log") || r.stderr.contains("binlog"),
        "{r:?}"
    );
    // Passwords never appear.
    let r = to_run(
        Command::new(zdm_bin())
            .args([
                "move",
                "plan",
                "--source",
                "mysql://root:sup3rsecret@127.0.0.1:1/shop",
            ])
            .output()
            .unwrap(),
    );
    assert_ne!(r.code, 0);
    assert!(!r.all().contains("sup3rsecret"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn purged_binlog_is_a_clear_error_and_recopy_all_recovers() {
    let m = Move::new(
        "CREATE TABLE p (id int PRIMARY KEY, code varchar(10) NOT NULL, UNIQUE KEY (code));
CREATE TABLE c (id int PRIMARY KEY, p_id int NOT NULL, FOREIGN KEY (p_id) REFERENCES p (id));
INSERT INTO p VALUES (1, 'a'), (2, 'b');
INSERT INTO c VALUES (10, 1), (20, 2)",
    )
    .await;
    let r = m.run(&["move", "start", "--until-caught-up"]);
    assert_eq!(r.code, 0, "{r:?}");
    // Changes the job has not seen, then the binlog holding them is purged.
    m.exec(
        "INSERT INTO p VALUES (3, 'c');
UPDATE p SET code = 'z' WHERE id = 1;
FLUSH BINARY LOGS",
    )
    .await;
    // MariaDB keeps a file until its binlog checkpoint has passed: purge until it is gone.
    let mut c = m.mysql().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        c.query_drop("PURGE BINARY LOGS TO 'mysql-bin.000002'")
            .await
            .unwrap();
        let files: Vec<String> = c
            .query("SHOW BINARY LOGS")
            .await
            .unwrap()
            .into_iter()
            .map(|r: mysql_async::Row| r.get::<String, _>(0).unwrap())
            .collect();
        if !files.iter().any(|f| f == "mysql-bin.000001") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "mysql-bin.000001 was not purged: {files:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = m.run(&["move", "start", "--until-caught-up"]);
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stderr.contains("purged") && r.stderr.contains("--recopy all"),
        "{r:?}"
    );
    assert_eq!(m.status()["phase"], "failed");
    let r = m.run(&["move", "start", "--recopy", "all", "--until-caught-up"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        m.pg_rows("SELECT string_agg(id || ':' || code, ',' ORDER BY id) FROM shop.p")
            .await,
        vec!["1:z,2:b,3:c"]
    );
    assert_eq!(
        m.pg_rows("SELECT count(*)::text FROM shop.c").await,
        vec!["2"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_connections_are_resumed_and_an_idle_source_shows_no_lag() {
    let m = Move::new(LOAD_TABLE).await;
    load_rows(&m, 1000).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut start = m.spawn(&["move", "start", "--metrics-listen", &listen]);
    m.wait_caught_up(60).await;
    // Cut both of zdm's connections: the binlog dump on the source, the apply session on the target.
    let mut c = m.mysql().await;
    let dumps: Vec<u64> = c
        .query("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
        .await
        .unwrap();
    assert!(!dumps.is_empty(), "no binlog dump connection");
    for id in dumps {
        let _ = c.query_drop(format!("KILL {id}")).await;
    }
    let pg = m.db.connect().await;
    pg.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'zdm move apply'", &[]).await.unwrap();
    m.exec(
        "UPDATE items SET n = n + 1 WHERE id <= 100;
DELETE FROM items WHERE id > 900",
    )
    .await;
    m.wait_caught_up(60).await;
    assert_equal(&m).await;
    let events: Vec<String> = pg
        .query("SELECT message FROM zdm.events WHERE migration_id = 'move:shop' AND message LIKE 'change stream interrupted%'", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!events.is_empty(), "no reconnect event");
    // Idle: heartbeats keep the lag near zero.
    std::thread::sleep(Duration::from_secs(4));
    let s = m.status();
    assert!(
        s["lag_seconds"].as_f64().unwrap() < 2.5,
        "idle source looks lagged: {s:#}"
    );
    // The running command's own metrics say the same.
    let text = reqwest::get(format!("http://{listen}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |series: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
            .trim()
            .parse()
            .unwrap()
    };
    assert_eq!(
        value(r#"zdm_move_phase{move="shop",phase="following"}"#),
        1.0
    );
    assert_eq!(value(r#"zdm_move_converged{move="shop"}"#), 1.0);
    assert_eq!(
        value(r#"zdm_move_rows_copied_total{move="shop",table="items"}"#),
        1000.0
    );
    assert!(value(r#"zdm_move_applied_events_total{move="shop"}"#) >= 200.0);
    assert!(value(r#"zdm_move_reconnects_total{move="shop"}"#) >= 1.0);
    assert!(value(r#"zdm_move_lag_seconds{move="shop"}"#) < 2.5);
    kill9(&mut start);
}

#[tokio::test(flavor = "multi_thread")]
async fn text_and_composite_keys_are_chunked_by_walking_the_key() {
    let m = Move::new(
        "CREATE TABLE tk (code varchar(20) PRIMARY KEY, v int) COLLATE utf8mb4_general_ci;
CREATE TABLE ck (region char(2), n int, d date, v varchar(10), PRIMARY KEY (region, n, d))",
    )
    .await;
    let mut c = m.mysql().await;
    for i in 0..3000 {
        // Mixed case: the source's collation orders 'a' < 'B' < 'c', PostgreSQL's bytes would not.
        let code = if i % 2 == 0 {
            format!("Key{i:05}")
        } else {
            format!("key{i:05}")
        };
        c.exec_drop("INSERT INTO tk VALUES (?, ?)", (code, i))
            .await
            .unwrap();
        c.exec_drop(
            "INSERT INTO ck VALUES (?, ?, '2024-01-01' + INTERVAL ? DAY, 'x')",
            (["eu", "us", "ap"][i % 3], i / 3, i % 7),
        )
        .await
        .unwrap();
    }
    let mut start = m.spawn(&["move", "start", "--chunk-rows", "250"]);
    m.wait_caught_up(60).await;
    let s = m.status();
    assert!(s["tables"][0]["chunks"].as_i64().unwrap() >= 10, "{s:#}");
    m.exec(
        "UPDATE tk SET v = -v WHERE v % 10 = 0;
UPDATE ck SET n = n + 100000 WHERE region = 'eu' AND n < 50;
DELETE FROM tk WHERE v % 7 = 1",
    )
    .await;
    m.wait_caught_up(60).await;
    let src = m
        .my_rows("SELECT concat(code, ':', v) FROM tk ORDER BY v")
        .await;
    let dst = m
        .pg_rows("SELECT code || ':' || v FROM shop.tk ORDER BY v")
        .await;
    assert_eq!(src, dst);
    let src = m
        .my_rows("SELECT concat_ws('|', region, n, d, v) FROM ck ORDER BY n, region, d")
        .await;
    let dst = m
        .pg_rows("SELECT concat_ws('|', region, n, d, v) FROM shop.ck ORDER BY n, region, d")
        .await;
    assert_eq!(src.len(), 3000);
    assert_eq!(src, dst);
    kill9(&mut start);
}

fn verify_json(m: &Move, args: &[&str]) -> (i32, serde_json::Value) {
    let mut a = vec!["move", "verify", "--json"];
    a.extend_from_slice(args);
    let r = m.run(&a);
    (
        r.code,
        serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("{r:?}")),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_finds_exactly_the_changed_value_of_every_type() {
    let m = Move::new(TYPES).await;
    let r = m.run(&["move", "start", "--until-caught-up"]);
    assert_eq!(r.code, 0, "{r:?}");
    let (code, rep) = verify_json(&m, &[]);
    assert_eq!(code, 0, "{rep:#}");
    assert_eq!(rep["equal"], true);
    assert!(
        rep["tables"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["skipped_columns"].as_array().unwrap().is_empty()),
        "{rep:#}"
    );
    let c = m.db.connect().await;
    // One value changed on the target, per column: found as `changed`, that column only.
    let changes = [
        ("b", "NOT b"),
        ("ti", "ti + 1"),
        ("tiu", "tiu - 1"),
        ("si", "si + 1"),
        ("siu", "siu - 1"),
        ("mi", "mi + 1"),
        ("miu", "miu - 1"),
        ("i", "i + 1"),
        ("iu", "iu - 1"),
        ("bi", "bi + 1"),
        ("biu", "biu - 1"),
        ("d", "d + 0.000000000000000000000000000001"),
        ("d2", "d2 + 0.01"),
        ("f", "f + 0.0001"),
        ("db", "db + 1e-12"),
        ("bit1", "NOT bit1"),
        ("bit9", "B'100000011'"),
        ("c", "'abc'"),
        ("vc", "'héllo 😁'"),
        ("tx", "tx || ' '"),
        ("bin", "'\\x01020001'::bytea"),
        ("vb", "'\\x00fe'::bytea"),
        ("bl", "'\\xdeadbeee'::bytea"),
        ("dt", "dt + 1"),
        ("dtm", "dtm + interval '1 microsecond'"),
        ("ts", "ts + interval '1 millisecond'"),
        ("tm", "tm + interval '10 milliseconds'"),
        ("yr", "yr - 1"),
        ("e", "'medium'"),
        ("st", "ARRAY['a','b','c']"),
        (
            "j",
            "'{\"k\": 12345678901234567891, \"u\": \"é\", \"n\": [1, 2.50]}'::jsonb",
        ),
    ];
    for (col, new) in changes {
        let old: String = c
            .query_one(
                &format!("SELECT {col}::text FROM shop.types WHERE id = 1"),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        c.batch_execute(&format!("UPDATE shop.types SET {col} = {new} WHERE id = 1"))
            .await
            .unwrap();
        let (code, rep) = verify_json(&m, &["--tables", "types", "--rechecks", "0"]);
        assert_eq!(code, 1, "{col}: {rep:#}");
        let diffs = rep["tables"][0]["differences"].as_array().unwrap();
        assert_eq!(diffs.len(), 1, "{col}: {rep:#}");
        assert_eq!(diffs[0]["kind"], "changed");
        assert_eq!(diffs[0]["key"]["id"], "1");
        assert_eq!(diffs[0]["columns"], serde_json::json!([col]), "{rep:#}");
        c.execute(
            &format!(
                "UPDATE shop.types SET {col} = $1::text::{} WHERE id = 1",
                pg_type(&c, col).await
            ),
            &[&old],
        )
        .await
        .unwrap();
    }
    // PostgreSQL → PostgreSQL over the moved types (same types on both sides: their own
    // text forms): equal first, then each change found as that column only.
    c.batch_execute("CREATE SCHEMA copy; CREATE TABLE copy.types (LIKE shop.types INCLUDING ALL); INSERT INTO copy.types SELECT * FROM shop.types")
        .await
        .unwrap();
    let pg_pg = |extra: &[&str]| {
        let mut args = vec![
            "verify",
            "--json",
            "--rechecks",
            "0",
            "--tables",
            "types",
            "--source",
            &m.db.url,
            "--source-schema",
            "shop",
            "--target",
            &m.db.url,
            "--target-schema",
            "copy",
        ];
        args.extend_from_slice(extra);
        let r = m.run(&args);
        let v: serde_json::Value =
            serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("{r:?}"));
        (r.code, v)
    };
    let (code, rep) = pg_pg(&[]);
    assert_eq!(code, 0, "PG→PG equal: {rep:#}");
    for (col, new) in changes {
        c.batch_execute(&format!("UPDATE copy.types SET {col} = {new} WHERE id = 1"))
            .await
            .unwrap();
        let (code, rep) = pg_pg(&[]);
        assert_eq!(code, 1, "PG→PG {col}: {rep:#}");
        let diffs = rep["tables"][0]["differences"].as_array().unwrap();
        assert_eq!(diffs.len(), 1, "PG→PG {col}: {rep:#}");
        assert_eq!(
            diffs[0]["columns"],
            serde_json::json!([col]),
            "PG→PG {rep:#}"
        );
        c.batch_execute(&format!("UPDATE copy.types SET {col} = s.{col} FROM shop.types s WHERE s.id = 1 AND copy.types.id = 1"))
            .await
            .unwrap();
    }
    assert_eq!(pg_pg(&[]).0, 0, "PG→PG after restoring every value");
    // JSON compared semantically: key order and number forms do not matter.
    c.batch_execute("UPDATE shop.types SET j = '{\"n\": [1.0, 2.5], \"u\": \"é\", \"k\": 12345678901234567890}' WHERE id = 1").await.unwrap();
    let (code, rep) = verify_json(&m, &["--tables", "types"]);
    assert_eq!(code, 0, "{rep:#}");
    // Missing and extra rows, sensitive values redacted.
    c.batch_execute("DELETE FROM shop.types WHERE id = 3; INSERT INTO shop.types (id) VALUES (99); UPDATE shop.types SET vc = 'secret' WHERE id = 2").await.unwrap();
    let (code, rep) = verify_json(&m, &["--tables", "types", "--sensitive", "types.vc"]);
    assert_eq!(code, 1);
    let kinds: Vec<(String, String)> = rep["tables"][0]["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_string(),
                d["key"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(kinds.len(), 3, "{rep:#}");
    for want in [("missing", "3"), ("extra", "99"), ("changed", "2")] {
        assert!(
            kinds.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} in {kinds:?}"
        );
    }
    assert!(
        !rep.to_string().contains("secret"),
        "sensitive value shown: {rep}"
    );
    // The result is in the ledger and in `zdm move status`; a failed run replaces "verified".
    let s = m.status();
    assert_eq!(s["verify"]["equal"], false, "{s:#}");
    assert_eq!(s["verify"]["differences"], 3, "{s:#}");
    // --repair re-copies them from the source (and deletes the extra row), then verifies again.
    let (code, rep) = verify_json(&m, &["--repair"]);
    assert_eq!(code, 0, "{rep:#}");
    assert_eq!(
        m.pg_rows("SELECT string_agg(id::text, ',' ORDER BY id) FROM shop.types")
            .await,
        vec!["1,2,3"]
    );
    assert_eq!(m.status()["verify"]["equal"], true);
}

async fn pg_type(c: &tokio_postgres::Client, col: &str) -> String {
    c.query_one("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'shop.types'::regclass AND attname = $1", &[&col]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_online_reports_only_persistent_differences() {
    let m = Move::new(LOAD_TABLE).await;
    load_rows(&m, 20_000).await;
    // A row the application load never touches.
    m.exec("INSERT INTO items (id, k, n, amount) VALUES (5000000, 'still', 1, 1.00)")
        .await;
    let mut start = m.spawn(&["move", "start"]);
    m.wait_caught_up(60).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = tokio::spawn(app_load(m.source_url.clone(), stop.clone(), 11));
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Writes in flight differ for a moment; after the re-checks nothing is left.
    let (code, rep) = verify_json(&m, &["--rechecks", "3"]);
    assert_eq!(code, 0, "transient differences reported: {rep:#}");
    // A difference that stays (written on the target behind the stream's back) is reported.
    let c = m.db.connect().await;
    c.batch_execute("UPDATE shop.items SET amount = amount + 1000 WHERE id = 5000000")
        .await
        .unwrap();
    let (code, rep) = verify_json(&m, &["--rechecks", "3"]);
    assert_eq!(code, 1, "{rep:#}");
    let diffs = rep["tables"][0]["differences"].as_array().unwrap();
    assert_eq!(diffs.len(), 1, "{rep:#}");
    assert_eq!(diffs[0]["key"]["id"], "5000000");
    assert_eq!(diffs[0]["columns"], serde_json::json!(["amount"]));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(load.await.unwrap(), 0);
    kill9(&mut start);
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_pg_to_pg_and_text_keys_across_collations() {
    let m = Move::new(
        "CREATE TABLE tk (code varchar(20) PRIMARY KEY, v int) COLLATE utf8mb4_general_ci",
    )
    .await;
    let mut c = m.mysql().await;
    for (i, code) in ["a", "B", "c", "D", "é", "Z", "aa", "Ab"]
        .iter()
        .enumerate()
    {
        c.exec_drop("INSERT INTO tk VALUES (?, ?)", (code, i))
            .await
            .unwrap();
    }
    assert_eq!(m.run(&["move", "start", "--until-caught-up"]).code, 0);
    let (code, rep) = verify_json(&m, &[]);
    assert_eq!(code, 0, "{rep:#}");
    // PG → PG: the moved schema against a copy of it.
    let pg = m.db.connect().await;
    pg.batch_execute("CREATE SCHEMA copy; CREATE TABLE copy.tk (LIKE shop.tk INCLUDING ALL); INSERT INTO copy.tk SELECT * FROM shop.tk; UPDATE copy.tk SET v = 100 WHERE code = 'é'").await.unwrap();
    let r = m.run(&[
        "verify",
        "--json",
        "--source",
        &m.db.url,
        "--source-schema",
        "shop",
        "--target",
        &m.db.url,
        "--target-schema",
        "copy",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    let rep: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        rep["tables"][0]["differences"][0]["key"]["code"], "é",
        "{rep:#}"
    );
    assert_eq!(
        rep["tables"][0]["differences"][0]["columns"],
        serde_json::json!(["v"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_mysql_to_mysql() {
    let m = Move::new("CREATE TABLE t (id int PRIMARY KEY, d decimal(8,2), ts datetime(3), s varchar(10), j json);
INSERT INTO t VALUES (1, 1.50, '2024-01-01 10:00:00.123', 'a', '{\"b\": 1, \"a\": [1, 2]}'), (2, NULL, NULL, '', NULL)").await;
    m.exec(
        "CREATE DATABASE shop2 CHARACTER SET utf8mb4;
CREATE TABLE shop2.t LIKE shop.t;
INSERT INTO shop2.t SELECT * FROM shop.t",
    )
    .await;
    let other = m.source_url.replace("/shop", "/shop2");
    let r = m.run(&[
        "verify",
        "--json",
        "--source",
        &m.source_url,
        "--target",
        &other,
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    m.exec("UPDATE shop2.t SET s = NULL WHERE id = 2").await;
    let r = m.run(&[
        "verify",
        "--json",
        "--source",
        &m.source_url,
        "--target",
        &other,
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    let rep: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let d = &rep["tables"][0]["differences"][0];
    assert_eq!(
        (
            d["kind"].as_str(),
            d["key"]["id"].as_str(),
            d["columns"].clone()
        ),
        (Some("changed"), Some("2"), serde_json::json!(["s"])),
        "{rep:#}"
    );
}

/// A source transaction of many rows is applied whole (sent in slices, committed once).
#[tokio::test(flavor = "multi_thread")]
async fn a_large_source_transaction_is_applied_whole() {
    let m = Move::new(LOAD_TABLE).await;
    load_rows(&m, 30_000).await;
    let mut start = m.spawn(&["move", "start"]);
    m.wait_caught_up(60).await;
    m.exec("UPDATE items SET n = n + 1, amount = amount * 2")
        .await;
    m.wait_caught_up(60).await;
    assert_equal(&m).await;
    kill9(&mut start);
}
