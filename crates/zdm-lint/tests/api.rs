//! The library API the CLI calls: migration directories, operation files, renderers.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use zdm_core::operations::OperationsMigration;
use zdm_core::source::{load_dir, MigrationBody, MigrationFile};
use zdm_lint::{lint_dir, lint_migrations, output, Engine, Options};

#[test]
fn directory_replay_and_selection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = |name: &str, body: &str| std::fs::write(dir.path().join(name), body).expect("write");
    w(
        "0001_create.sql",
        "CREATE TABLE orders (id bigint PRIMARY KEY, note varchar(100), user_id bigint);\n",
    );
    w(
        "0002_widen.sql",
        "SET statement_timeout = '5s';\nALTER TABLE orders ALTER COLUMN note TYPE varchar(200);\n",
    );
    w("0003_index.sql", "-- zdm:no-transaction\nSET statement_timeout = '5s';\nCREATE INDEX orders_user_id_idx ON orders (user_id);\n");
    let findings = lint_dir(dir.path(), &Options::postgres(15)).expect("lint");
    let rules: Vec<_> = findings
        .iter()
        .map(|f| {
            (
                f.file.rsplit('/').next().unwrap_or_default().to_string(),
                f.rule,
            )
        })
        .collect();
    // The widening is recognised from 0001; the index is on a table from an earlier file.
    assert!(
        !rules.iter().any(|(_, r)| *r == "pg-alter-type-rewrite"),
        "{rules:?}"
    );
    assert!(
        rules.contains(&("0003_index.sql".into(), "pg-index-create-not-concurrent")),
        "{rules:?}"
    );

    // Only pending files reported, earlier ones still replayed.
    let files = load_dir(dir.path()).expect("load");
    let only_last = lint_migrations(&files, &Options::postgres(15), &|f: &MigrationFile| {
        f.id.starts_with("0003")
    })
    .expect("lint");
    assert!(only_last.iter().all(|f| f.file.ends_with("0003_index.sql")));
    assert!(only_last
        .iter()
        .any(|f| f.rule == "pg-index-create-not-concurrent"));
}

fn ops_file(json: &str) -> MigrationFile {
    let ops: OperationsMigration = serde_json::from_str(json).expect("ops json");
    MigrationFile {
        id: "0002_ops".into(),
        path: PathBuf::from("0002_ops.json"),
        checksum: String::new(),
        body: MigrationBody::Operations(ops),
    }
}

#[test]
fn operation_files() {
    let create = ops_file(
        r#"{"operations": [{"create_table": {"name": "items", "columns": [{"name": "id", "type": "bigint", "pk": true}, {"name": "code", "type": "varchar(10)", "nullable": true}]}}]}"#,
    );
    let alter = ops_file(
        r#"{"operations": [
        {"alter_column": {"table": "items", "column": "code", "type": "integer"}},
        {"sql": {"up": "CREATE INDEX items_code_idx ON items (code)"}}
    ]}"#,
    );
    let findings = lint_migrations(
        &[create, alter],
        &Options::postgres(15),
        &|f: &MigrationFile| f.id == "0002_ops",
    )
    .expect("lint");
    let rules: Vec<_> = findings.iter().map(|f| f.rule).collect();
    assert!(
        rules.contains(&"op-alter-type-without-up-down"),
        "{rules:?}"
    );
    // items exists from the earlier file, so the raw SQL index build is flagged.
    assert!(
        rules.contains(&"pg-index-create-not-concurrent"),
        "{rules:?}"
    );
}

fn sample() -> (Vec<zdm_lint::Finding>, HashMap<String, String>) {
    let text =
        "SET statement_timeout = '5s';\nALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;\n";
    let opts = Options::postgres(15);
    let mut schema = zdm_lint::new_schema(&opts);
    let findings = zdm_lint::lint_file("m/0001, a:b.sql", text, &opts, &mut schema).expect("lint");
    let mut sources = HashMap::new();
    sources.insert("m/0001, a:b.sql".to_string(), text.to_string());
    (findings, sources)
}

#[test]
fn human_output_has_position_snippet_and_caret() {
    let (findings, sources) = sample();
    let out = output::human(&findings, &sources);
    assert!(
        out.contains("m/0001, a:b.sql:2:20: error[pg-set-not-null]"),
        "{out}"
    );
    assert!(
        out.contains("2 | ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;"),
        "{out}"
    );
    assert!(
        out.contains("  |                    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^"),
        "{out}"
    );
    assert!(
        out.contains("= help:") && out.contains("= locks: ACCESS EXCLUSIVE on orders"),
        "{out}"
    );
}

#[test]
fn human_output_is_linear() {
    // 100,000 findings spread over a 100,000-line file: a renderer that rescans the text per
    // finding (as squawk's does) would take minutes; one index per file takes well under a second.
    let line = "ALTER TABLE t ALTER COLUMN c SET NOT NULL;\n";
    let text = line.repeat(100_000);
    let (template, _) = sample();
    let base = template
        .into_iter()
        .find(|f| f.rule == "pg-set-not-null")
        .expect("finding");
    let findings: Vec<_> = (0..100_000)
        .map(|i| {
            let start = i * line.len() + 19;
            zdm_lint::Finding {
                file: "big.sql".into(),
                span: start..start + 33,
                line: i + 1,
                column: 20,
                ..base.clone()
            }
        })
        .collect();
    let mut sources = HashMap::new();
    sources.insert("big.sql".to_string(), text);
    let started = std::time::Instant::now();
    let out = output::human(&findings, &sources);
    assert!(out.len() > 10_000_000);
    assert!(
        started.elapsed().as_secs() < 10,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn json_sarif_github() {
    let (findings, _) = sample();
    let json: serde_json::Value = serde_json::from_str(&output::json(&findings)).expect("json");
    assert_eq!(json["version"], 1);
    assert_eq!(json["findings"][0]["rule"], "pg-set-not-null");
    assert_eq!(json["findings"][0]["line"], 2);
    assert!(json["findings"][0]["span"]["start"].is_u64());

    let sarif: serde_json::Value =
        serde_json::from_str(&output::sarif(&findings, Engine::Postgres, "docs/lint/"))
            .expect("sarif");
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert!(rules.iter().any(|r| r["id"] == "pg-set-not-null"));
    assert!(!rules.iter().any(|r| r["id"] == "my-algorithm-copy"));
    let res = &run["results"][0];
    assert_eq!(res["ruleId"], "pg-set-not-null");
    assert_eq!(res["level"], "error");
    assert_eq!(
        res["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
    let idx = res["ruleIndex"].as_u64().expect("index") as usize;
    assert_eq!(rules[idx]["id"], "pg-set-not-null");

    let gh = output::github(&findings);
    let line = gh
        .lines()
        .find(|l| l.contains("pg-set-not-null"))
        .expect("annotation");
    assert!(
        line.starts_with(
            "::error file=m/0001%2C a%3Ab.sql,line=2,col=20,title=pg-set-not-null (error)::"
        ),
        "{line}"
    );
    assert_eq!(
        gh.lines().count(),
        findings.len(),
        "messages must not break lines"
    );
}

#[test]
fn operations_are_replayed_for_later_files() {
    let create = ops_file(
        r#"{"operations": [{"create_table": {"name": "items", "columns": [{"name": "id", "type": "bigint", "pk": true}, {"name": "code", "type": "varchar(10)", "nullable": true}]}},
            {"create_index": {"name": "items_code_idx", "table": "items", "columns": ["code"]}}]}"#,
    );
    let widen = MigrationFile {
        id: "0003_widen".into(),
        path: PathBuf::from("0003_widen.sql"),
        checksum: String::new(),
        body: MigrationBody::Sql(zdm_core::source::SqlMigration {
            up: "SET statement_timeout = '5s';\nALTER TABLE items ALTER COLUMN code TYPE varchar(20);\nDROP INDEX CONCURRENTLY items_code_idx;".into(),
            statements: vec![],
            down: None,
            no_transaction: true,
        }),
    };
    let findings = lint_migrations(
        &[create, widen],
        &Options::postgres(15),
        &|_: &MigrationFile| true,
    )
    .expect("lint");
    let rules: Vec<_> = findings.iter().map(|f| f.rule).collect();
    assert!(!rules.contains(&"pg-alter-type-rewrite"), "{findings:#?}");
    assert!(
        !rules.contains(&"pg-index-drop-not-concurrent"),
        "{findings:#?}"
    );
}

#[test]
fn operation_sql_runs_concurrent_statements_on_their_own() {
    let create = ops_file(
        r#"{"operations": [{"create_table": {"name": "items", "columns": [{"name": "id", "type": "bigint", "pk": true}, {"name": "code", "type": "text", "nullable": true}]}}]}"#,
    );
    let sql = ops_file(
        r#"{"operations": [{"sql": {"up": "SET statement_timeout = '5s';\nALTER TABLE items ADD COLUMN note text;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS items_code_idx ON items (code)"}}]}"#,
    );
    let findings = lint_migrations(
        &[create, sql],
        &Options::postgres(15),
        &|f: &MigrationFile| f.id == "0002_ops",
    )
    .expect("lint");
    assert!(findings.is_empty(), "{findings:#?}");
}
