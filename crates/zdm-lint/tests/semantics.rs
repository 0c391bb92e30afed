//! Verdicts that depend on versions, the replayed catalog, transactions and ignore comments.

mod common;

use common::{lint, rules_of};
use zdm_lint::Engine::{Mysql, Postgres};

fn has(f: &[zdm_lint::Finding], rule: &str) -> bool {
    f.iter().any(|x| x.rule == rule)
}

#[test]
fn pg_defaults_by_version() {
    let sql = "ALTER TABLE t ADD COLUMN c integer DEFAULT 10;";
    assert!(!has(
        &lint(Postgres, sql, "pg=11"),
        "pg-add-column-volatile-default"
    ));
    assert!(has(
        &lint(Postgres, sql, "pg=10"),
        "pg-add-column-volatile-default"
    ));
    assert!(has(
        &lint(
            Postgres,
            "ALTER TABLE t ADD COLUMN c uuid DEFAULT gen_random_uuid();",
            "pg=16"
        ),
        "pg-add-column-volatile-default"
    ));
    assert!(has(
        &lint(
            Postgres,
            "ALTER TABLE t ADD COLUMN c jsonb DEFAULT my_func();",
            ""
        ),
        "pg-add-column-volatile-default"
    ));
    assert!(!has(
        &lint(
            Postgres,
            "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now();",
            ""
        ),
        "pg-add-column-volatile-default"
    ));
}

#[test]
fn pg_set_not_null_advice_by_version() {
    let sql = "ALTER TABLE t ALTER COLUMN c SET NOT NULL;";
    let help = |env| {
        lint(Postgres, sql, env)
            .into_iter()
            .find(|f| f.rule == "pg-set-not-null")
            .expect("flagged")
            .help
    };
    assert!(help("pg=12").contains("CHECK (c IS NOT NULL) NOT VALID"));
    assert!(help("pg=18").contains("NOT NULL c NOT VALID"));
    assert!(help("pg=11").contains("Before PostgreSQL 12"));
    // PG18: NOT NULL … NOT VALID is the safe form; without NOT VALID it scans.
    assert!(!has(
        &lint(
            Postgres,
            "ALTER TABLE t ADD CONSTRAINT t_c_nn NOT NULL c NOT VALID;",
            "pg=18"
        ),
        "pg-constraint-not-valid"
    ));
    assert!(has(
        &lint(
            Postgres,
            "ALTER TABLE t ADD CONSTRAINT t_c_nn NOT NULL c;",
            "pg=18"
        ),
        "pg-constraint-not-valid"
    ));
    // A validated CHECK (c IS NOT NULL) from an earlier migration makes SET NOT NULL cheap.
    let proven = "CREATE TABLE t (c int);\nALTER TABLE t ADD CONSTRAINT t_c_nn CHECK (c IS NOT NULL) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT t_c_nn;\n---\nALTER TABLE t ALTER COLUMN c SET NOT NULL;";
    assert!(!has(&lint(Postgres, proven, "pg=12"), "pg-set-not-null"));
    assert!(has(&lint(Postgres, proven, "pg=11"), "pg-set-not-null"));
}

#[test]
fn pg_new_tables_are_exempt() {
    let sql = "CREATE TABLE t (id bigint PRIMARY KEY, a text);\nCREATE INDEX t_a_idx ON t (a);\nALTER TABLE t ALTER COLUMN a SET NOT NULL;";
    let f = lint(Postgres, sql, "");
    assert!(
        !has(&f, "pg-index-create-not-concurrent") && !has(&f, "pg-set-not-null"),
        "{f:#?}"
    );
    // …but not a table created in an earlier file.
    let f = lint(
        Postgres,
        "CREATE TABLE t (id bigint PRIMARY KEY, a text);\n---\nCREATE INDEX t_a_idx ON t (a);",
        "",
    );
    assert!(has(&f, "pg-index-create-not-concurrent"));
}

#[test]
fn pg_type_changes_use_the_catalog() {
    let base = "CREATE TABLE t (v varchar(100), n numeric(10,2), i integer);\n---\n";
    for (change, flagged) in [
        ("ALTER COLUMN v TYPE varchar(200)", false),
        ("ALTER COLUMN v TYPE text", false),
        ("ALTER COLUMN v TYPE varchar(50)", true),
        ("ALTER COLUMN n TYPE numeric(12,2)", false),
        ("ALTER COLUMN i TYPE bigint", true),
        ("ALTER COLUMN v TYPE text USING upper(v)", true),
    ] {
        let f = lint(Postgres, &format!("{base}ALTER TABLE t {change};"), "");
        assert_eq!(
            has(&f, "pg-alter-type-rewrite"),
            flagged,
            "{change}: {f:#?}"
        );
    }
    // Unknown column type: flagged, saying so.
    let f = lint(Postgres, "ALTER TABLE t ALTER COLUMN x TYPE text;", "");
    assert!(f
        .iter()
        .any(|x| x.rule == "pg-alter-type-rewrite" && x.message.contains("unknown")));
}

#[test]
fn pg_fk_index_and_primary_key_facts() {
    let fk = "CREATE TABLE p (id bigint PRIMARY KEY);\nCREATE TABLE c (id bigint PRIMARY KEY, p_id bigint REFERENCES p (id));";
    assert!(has(&lint(Postgres, fk, ""), "pg-fk-missing-index"));
    assert!(!has(
        &lint(
            Postgres,
            &format!("{fk}\nCREATE INDEX c_p_id_idx ON c (p_id);"),
            ""
        ),
        "pg-fk-missing-index"
    ));
    assert!(!has(
        &lint(
            Postgres,
            &format!("{fk}\nCREATE INDEX c_p_id_idx ON c (p_id, id);"),
            ""
        ),
        "pg-fk-missing-index"
    ));
    assert!(has(
        &lint(
            Postgres,
            &format!("{fk}\nCREATE INDEX c_p_id_idx ON c (id, p_id);"),
            ""
        ),
        "pg-fk-missing-index"
    ));

    // A table the migrations never created may have indexes the linter cannot see.
    assert!(!has(&lint(Postgres, "ALTER TABLE legacy ADD CONSTRAINT legacy_p_fk FOREIGN KEY (p_id) REFERENCES p (id) NOT VALID;", ""), "pg-fk-missing-index"));

    let nn = "CREATE TABLE t (id bigint NOT NULL, x int);\nCREATE UNIQUE INDEX t_id_idx ON t (id);\n---\nALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_id_idx;";
    assert!(!has(&lint(Postgres, nn, ""), "pg-add-primary-key"));
    let nullable = "CREATE TABLE t (id bigint, x int);\nCREATE UNIQUE INDEX t_id_idx ON t (id);\n---\nALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_id_idx;";
    let f = lint(Postgres, nullable, "");
    assert!(
        f.iter().any(|x| x.rule == "pg-add-primary-key"
            && x.message.contains("NOT NULL")
            && !x.message.contains("builds")),
        "{f:#?}"
    );
}

#[test]
fn pg_transactions() {
    // Backfill after DDL in zdm's transaction.
    let f = lint(
        Postgres,
        "ALTER TABLE t ADD COLUMN s text;\nUPDATE t SET s = 'x';",
        "",
    );
    assert!(
        f.iter()
            .any(|x| x.rule == "pg-hold-strong-lock" && x.message.starts_with("UPDATE")),
        "{f:#?}"
    );
    assert!(!has(
        &lint(
            Postgres,
            "ALTER TABLE t ADD COLUMN s text;\nUPDATE t SET s = 'x';",
            "no-transaction"
        ),
        "pg-hold-strong-lock"
    ));
    // CONCURRENTLY: explicit transaction, zdm's implied switch, alone.
    let f = lint(
        Postgres,
        "BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;",
        "no-transaction",
    );
    assert!(has(&f, "pg-concurrently-in-transaction"));
    assert!(has(
        &lint(
            Postgres,
            "ALTER TABLE t ADD COLUMN a int;\nCREATE INDEX CONCURRENTLY i ON t (a);",
            ""
        ),
        "pg-concurrently-in-transaction"
    ));
    assert!(!has(
        &lint(
            Postgres,
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);",
            ""
        ),
        "pg-concurrently-in-transaction"
    ));
    // VALIDATE in the same transaction as NOT VALID.
    assert!(has(&lint(Postgres, "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c;", ""), "pg-validate-same-tx"));
    // BEGIN under zdm's transaction; BEGIN never committed.
    assert!(has(
        &lint(Postgres, "BEGIN;\nSELECT 1;\nCOMMIT;", ""),
        "tx-nesting"
    ));
    assert!(has(
        &lint(Postgres, "BEGIN;\nSELECT 1;", "no-transaction"),
        "tx-uncommitted"
    ));
}

#[test]
fn ignores() {
    let base = "CREATE INDEX i ON t (a);";
    let with = |c: &str| lint(Postgres, &format!("{c}\n{base}"), "");
    let f = with("-- zdm-lint: ignore pg-index-create-not-concurrent -- tiny table");
    assert!(
        !has(&f, "pg-index-create-not-concurrent") && !has(&f, "lint-ignore-without-reason"),
        "{f:#?}"
    );
    let f = with("-- zdm-lint: ignore pg-index-create-not-concurrent");
    assert_eq!(
        rules_of(&f)
            .iter()
            .filter(|r| **r == "lint-ignore-without-reason")
            .count(),
        1
    );
    assert!(!has(&f, "pg-index-create-not-concurrent"));
    let f = with("-- zdm-lint: ignore pg-set-not-null -- wrong rule");
    assert!(has(&f, "lint-unused-ignore") && has(&f, "pg-index-create-not-concurrent"));
    // Trailing comment on the statement's first line; several ids; file-wide.
    let f = lint(Postgres, "CREATE INDEX i ON t (a); -- zdm-lint: ignore pg-index-create-not-concurrent, pg-require-statement-timeout -- small", "");
    assert!(
        !has(&f, "pg-index-create-not-concurrent") && !has(&f, "lint-unused-ignore"),
        "{f:#?}"
    );
    let f = lint(Postgres, "SELECT 1;\n\nCREATE INDEX i ON t (a);\n-- zdm-lint: ignore-file pg-index-create-not-concurrent -- seed data only", "");
    assert!(!has(&f, "pg-index-create-not-concurrent"), "{f:#?}");
    // A blank line between the comment and the statement detaches it.
    let f = lint(
        Postgres,
        "-- zdm-lint: ignore pg-index-create-not-concurrent -- x\n\nCREATE INDEX i ON t (a);",
        "",
    );
    assert!(has(&f, "pg-index-create-not-concurrent") && has(&f, "lint-unused-ignore"));
    // MySQL # comments.
    let f = lint(
        Mysql,
        "# zdm-lint: ignore my-rebuild-ops -- tiny table\nOPTIMIZE TABLE t;",
        "",
    );
    assert!(!has(&f, "my-rebuild-ops"), "{f:#?}");
}

#[test]
fn mysql_instant_versions() {
    let last =
        "SET SESSION lock_wait_timeout = 5;\nALTER TABLE t ADD COLUMN c INT, ALGORITHM=INSTANT;";
    let after = "SET SESSION lock_wait_timeout = 5;\nALTER TABLE t ADD COLUMN c INT AFTER id, ALGORITHM=INSTANT;";
    for (env, sql, flagged) in [
        ("mysql=8.0.11", last, true),
        ("mysql=8.0.12", last, false),
        ("mysql=8.0.28", after, true),
        ("mysql=8.0.29", after, false),
        ("mariadb=10.3.1", last, true),
        ("mariadb=10.3.2", last, false),
        ("mariadb=10.3.39", after, true),
        ("mariadb=10.4.0", after, false),
        ("mysql=5.7.44", last, true),
    ] {
        assert_eq!(
            has(&lint(Mysql, sql, env), "my-add-column-not-instant"),
            flagged,
            "{env}: {sql}"
        );
    }
    let compressed = "CREATE TABLE t (id INT PRIMARY KEY) ROW_FORMAT=COMPRESSED;\n---\nSET SESSION lock_wait_timeout = 5;\nALTER TABLE t ADD COLUMN c INT, ALGORITHM=INPLACE, LOCK=NONE;";
    assert!(has(
        &lint(Mysql, compressed, ""),
        "my-add-column-not-instant"
    ));
    // The pinned-algorithm suggestion follows the version.
    let f = lint(
        Mysql,
        "SET SESSION lock_wait_timeout = 5;\nALTER TABLE t ADD COLUMN c INT;",
        "mysql=5.7.44",
    );
    assert!(
        f.iter()
            .any(|x| x.rule == "my-assert-algorithm" && x.help.contains("INPLACE, LOCK=NONE")),
        "{f:#?}"
    );
    let f = lint(
        Mysql,
        "SET SESSION lock_wait_timeout = 5;\nALTER TABLE t ADD COLUMN c INT;",
        "",
    );
    assert!(
        f.iter()
            .any(|x| x.rule == "my-assert-algorithm" && x.help.contains("ALGORITHM=INSTANT")),
        "{f:#?}"
    );
    // MariaDB ALTER ONLINE = LOCK=NONE.
    let f = lint(Mysql, "SET SESSION lock_wait_timeout = 5;\nALTER ONLINE TABLE t ADD INDEX i (a), ALGORITHM=INPLACE;", "mariadb=10.11");
    assert!(!has(&f, "my-assert-algorithm"), "{f:#?}");
    assert!(has(
        &lint(
            Mysql,
            "ALTER TABLE t ADD COLUMN c INT, ALGORITHM=INSTANT, LOCK=NONE;",
            ""
        ),
        "my-assert-algorithm"
    ));
}

#[test]
fn mysql_catalog_facts() {
    let base = "CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(10), w VARCHAR(60));\n---\nSET SESSION lock_wait_timeout = 5;\n";
    assert!(!has(
        &lint(
            Mysql,
            &format!("{base}ALTER TABLE t MODIFY v VARCHAR(60), ALGORITHM=INPLACE, LOCK=NONE;"),
            ""
        ),
        "my-alter-column-type"
    ));
    assert!(has(
        &lint(
            Mysql,
            &format!("{base}ALTER TABLE t MODIFY w VARCHAR(100), ALGORITHM=INPLACE, LOCK=NONE;"),
            ""
        ),
        "my-alter-column-type"
    ));
    assert!(has(
        &lint(
            Mysql,
            &format!("{base}ALTER TABLE t MODIFY id INT, ALGORITHM=INPLACE, LOCK=NONE;"),
            ""
        ),
        "my-alter-column-type"
    ));
    // foreign_key_checks=0 makes ADD FOREIGN KEY INPLACE.
    assert!(!has(
        &lint(
            Mysql,
            "SET foreign_key_checks = 0;\nALTER TABLE c ADD FOREIGN KEY (p) REFERENCES p (id);",
            ""
        ),
        "my-add-foreign-key"
    ));
    // Implicit commits.
    assert!(has(
        &lint(
            Mysql,
            "CREATE TABLE a (id INT);\nCREATE TABLE b (id INT);",
            ""
        ),
        "my-ddl-implicit-commit"
    ));
    assert!(has(
        &lint(
            Mysql,
            "START TRANSACTION;\nINSERT INTO a VALUES (1);\nCREATE TABLE b (id INT);\nCOMMIT;",
            ""
        ),
        "my-ddl-implicit-commit"
    ));
    // New tables are exempt; CHANGE with a new name is a rename.
    assert!(!has(
        &lint(
            Mysql,
            "CREATE TABLE t (id INT);\nALTER TABLE t ADD COLUMN c INT;",
            ""
        ),
        "my-assert-algorithm"
    ));
    assert!(has(
        &lint(
            Mysql,
            &format!("{base}ALTER TABLE t CHANGE v v2 VARCHAR(10), ALGORITHM=INSTANT;"),
            ""
        ),
        "compat-rename-column"
    ));
}

#[test]
fn pg_user_function_volatility_comes_from_the_migrations() {
    let stable = "CREATE FUNCTION default_region() RETURNS text LANGUAGE sql STABLE AS $$ SELECT 'eu' $$;\nCREATE TABLE t (id bigint);\n---\nALTER TABLE t ADD COLUMN region text DEFAULT default_region();";
    assert!(!has(
        &lint(Postgres, stable, ""),
        "pg-add-column-volatile-default"
    ));
    let volatile = "CREATE FUNCTION next_code() RETURNS text LANGUAGE sql AS $$ SELECT md5(random()::text) $$;\nCREATE TABLE t (id bigint);\n---\nALTER TABLE t ADD COLUMN code text DEFAULT next_code();";
    let f = lint(Postgres, volatile, "");
    assert!(
        f.iter().any(|x| x.rule == "pg-add-column-volatile-default"
            && x.message.contains("declared VOLATILE")),
        "{f:#?}"
    );
}
