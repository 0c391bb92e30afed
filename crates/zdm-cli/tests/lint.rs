//! `zdm lint` end to end: exit codes, output formats, ignores, the gate in `zdm migrate`, and
//! `--trace` on real PostgreSQL and MariaDB.

mod common;

use common::Env;
use zdm_testkit::mariadb::shared_url;

const INIT: &str = "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n\
                    CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, qty int);\n";

fn json(r: &common::Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {r:?}"))
}

fn rules(doc: &serde_json::Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn exit_codes_and_formats() {
    let env = Env::new().await;
    env.write("20260101000000_init.sql", INIT);
    env.write(
        "20260102000000_index.sql",
        "CREATE INDEX orders_qty ON orders (qty);\n",
    );
    // An index on a table that existed before the file: SHARE lock for the whole build.
    let r = env.run(&["lint", "--format", "json"]).await;
    assert_eq!(r.code, 1, "{r:?}");
    let doc = json(&r);
    assert!(rules(&doc).contains(&"pg-index-create-not-concurrent".to_string()));
    let f = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "pg-index-create-not-concurrent")
        .unwrap();
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(f["file"]
        .as_str()
        .unwrap()
        .ends_with("20260102000000_index.sql"));

    let r = env.run(&["lint", "--fail-on", "none"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("CREATE INDEX CONCURRENTLY"),
        "help with the safe SQL: {r:?}"
    );
    assert!(
        r.stdout.contains("^^^"),
        "a snippet with a caret line: {r:?}"
    );

    let r = env.run(&["lint", "--format", "sarif"]).await;
    assert_eq!(r.code, 1);
    let sarif = json(&r);
    assert_eq!(sarif["version"], "2.1.0");
    let result = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "pg-index-create-not-concurrent")
        .unwrap();
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        1
    );

    let r = env.run(&["lint", "--format", "github"]).await;
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("::error file="), "{r:?}");

    // The first file alone creates its tables: nothing is busy yet.
    let init = env.dir().join("20260101000000_init.sql");
    let r = env
        .run(&["lint", "--fail-on", "warning", init.to_str().unwrap()])
        .await;
    assert_eq!(r.code, 0, "{r:?}");

    let r = env.run(&["lint", "nope.sql"]).await;
    assert_eq!(r.code, 2, "{r:?}");
    let r = env.run(&["lint", "--disable", "no-such-rule"]).await;
    assert_eq!(r.code, 2, "{r:?}");
    let r = env.run(&["lint", "--explain", "pg-set-not-null"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("VALIDATE"), "{r:?}");
}

#[tokio::test]
async fn ignores_need_a_reason() {
    let env = Env::new().await;
    env.write("20260101000000_init.sql", INIT);
    env.write(
        "20260102000000_index.sql",
        "-- zdm-lint: ignore pg-index-create-not-concurrent -- orders has 40 rows, a lookup table\n\
         CREATE INDEX orders_qty ON orders (qty);\n",
    );
    let r = env.run(&["lint", "--format", "json"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!rules(&json(&r)).contains(&"pg-index-create-not-concurrent".to_string()));

    env.write(
        "20260102000000_index.sql",
        "-- zdm-lint: ignore pg-index-create-not-concurrent\nCREATE INDEX orders_qty ON orders (qty);\n",
    );
    let r = env.run(&["lint", "--format", "json"]).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(rules(&json(&r)).contains(&"lint-ignore-without-reason".to_string()));
}

#[tokio::test]
async fn migrate_refuses_unsafe_sql_unless_ignored_or_allowed() {
    let env = Env::new().await;
    env.write("20260101000000_init.sql", INIT);
    let r = env.run(&["migrate"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    env.write(
        "20260102000000_index.sql",
        "CREATE INDEX orders_qty ON orders (qty);\n",
    );
    let r = env.run(&["migrate"]).await;
    assert_eq!(r.code, 7, "refused: {r:?}");
    assert!(r.stderr.contains("pg-index-create-not-concurrent"), "{r:?}");
    assert!(r.stderr.contains("20260102000000_index.sql:1:1"), "{r:?}");
    assert_eq!(
        env.query_i64("SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_qty'")
            .await,
        0,
        "nothing ran"
    );
    let r = env.run(&["migrate", "--allow-unsafe"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        env.query_i64("SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_qty'")
            .await,
        1
    );
    // Applied migrations are not linted again.
    let r = env.run(&["migrate"]).await;
    assert_eq!(r.code, 0, "{r:?}");
}

#[tokio::test]
async fn trace_reports_locks_and_rewrites_beside_the_static_verdict() {
    let env = Env::new().await;
    env.write("20260101000000_init.sql", INIT);
    let change = env.write(
        "20260102000000_change.sql",
        "ALTER TABLE orders ADD CONSTRAINT orders_user FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n\
         ALTER TABLE orders ALTER COLUMN qty TYPE bigint;\n",
    );
    let r = env
        .run(&[
            "lint",
            "--trace",
            "--format",
            "json",
            "--fail-on",
            "none",
            change.to_str().unwrap(),
        ])
        .await;
    assert_eq!(r.code, 0, "{r:?}");
    let doc = json(&r);
    let files = doc["trace"].as_array().unwrap();
    assert_eq!(
        files.len(),
        1,
        "only the linted file is traced (the first is replayed)"
    );
    let st = files[0]["statements"].as_array().unwrap();
    let locks = |i: usize| st[i]["locks"].to_string();
    assert!(
        locks(0).contains("SHARE ROW EXCLUSIVE on orders"),
        "{}",
        locks(0)
    );
    assert!(
        locks(0).contains("SHARE ROW EXCLUSIVE on users"),
        "{}",
        locks(0)
    );
    assert!(
        locks(1).contains("ACCESS EXCLUSIVE on orders"),
        "{}",
        locks(1)
    );
    assert!(st[1]["rewrites"].to_string().contains("orders"));
    assert!(st[1]["static_rules"]
        .to_string()
        .contains("pg-alter-type-rewrite"));
    assert!(st[1].get("disagreement").is_none());
    // With the rewrite rules off, the trace catches what the static side missed.
    let r = env
        .run(&[
            "lint",
            "--trace",
            "--format",
            "json",
            "--disable",
            "pg-alter-type-rewrite,pg-table-rewrite,pg-hold-strong-lock,pg-multiple-alters,pg-require-statement-timeout",
            change.to_str().unwrap(),
        ])
        .await;
    assert_eq!(r.code, 0, "a disagreement is a warning: {r:?}");
    let doc = json(&r);
    assert!(
        rules(&doc).contains(&"lint-trace-disagreement".to_string()),
        "{r:?}"
    );
    // No scratch database is left behind.
    let scratch = doc["trace"][0]["scratch_database"].as_str().unwrap();
    assert!(scratch.starts_with("zdm_trace_"));
    assert_eq!(
        env.query_i64(&format!(
            "SELECT count(*) FROM pg_database WHERE datname = '{scratch}'"
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn trace_on_mariadb_reports_the_algorithm() {
    let env = Env::new().await;
    env.write(
        "20260101000000_init.sql",
        "CREATE TABLE t (id bigint PRIMARY KEY, qty int, note varchar(20)) ENGINE=InnoDB;\n",
    );
    let change = env.write(
        "20260102000000_change.sql",
        "ALTER TABLE t ADD COLUMN extra int;\nALTER TABLE t MODIFY qty bigint;\n",
    );
    let url = shared_url();
    let r = env
        .run(&[
            "lint",
            "--dialect",
            "mysql",
            "--mysql-version",
            "10.11.6-MariaDB",
            "--trace",
            "--database-url",
            &url,
            "--format",
            "json",
            "--fail-on",
            "none",
            change.to_str().unwrap(),
        ])
        .await;
    assert_eq!(r.code, 0, "{r:?}");
    let doc = json(&r);
    let st = doc["trace"][0]["statements"].as_array().unwrap().clone();
    assert_eq!(st[0]["algorithm"], "Instant", "{st:?}");
    assert_eq!(st[1]["algorithm"], "Copy", "{st:?}");
    assert!(st[1]["rewrites"].to_string().contains("\"t\""), "{st:?}");
    assert!(
        st[1]["static_rules"]
            .to_string()
            .contains("my-alter-column-type"),
        "{st:?}"
    );
    assert!(st.iter().all(|s| s.get("disagreement").is_none()), "{st:?}");
}
