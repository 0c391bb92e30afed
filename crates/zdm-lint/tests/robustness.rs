//! Procedural code, dollar quoting and DELIMITER scripts: no panics, no findings from the
//! bodies, and statements after them are still linted.

mod common;

use common::{lint, rules_of};
use zdm_lint::Engine;

const PG_PROCEDURAL: &str = r#"
DO $$
BEGIN
  -- DDL-looking text inside a body must not be linted as statements
  EXECUTE 'CREATE INDEX idx ON orders (a)';
  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'mood') THEN
    CREATE TYPE mood AS ENUM ('sad', 'ok');
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  NEW.updated_at := now(); -- ALTER TABLE x DROP COLUMN y;
  RETURN NEW;
END
$body$;

CREATE FUNCTION add(a integer, b integer) RETURNS integer
  LANGUAGE sql IMMUTABLE
  RETURN a + b;

CREATE FUNCTION nested() RETURNS text AS $outer$ SELECT $inner$ DROP TABLE t; $inner$ $outer$ LANGUAGE sql;

CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC
  SELECT 1;
  SELECT 2;
END;

SELECT 'it''s; not a statement', E'\'; DROP TABLE t; --', "weird;ident" FROM x;
"#;

#[test]
fn postgres_bodies_are_opaque() {
    let findings = lint(Engine::Postgres, PG_PROCEDURAL, "");
    let unexpected: Vec<_> = findings
        .iter()
        .filter(|f| f.rule != "compat-drop-other" && f.rule != "lint-syntax-error")
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    // CREATE OR REPLACE FUNCTION is the only expand/contract note.
    assert_eq!(
        findings
            .iter()
            .filter(|f| f.rule == "compat-drop-other")
            .count(),
        1,
        "{findings:#?}"
    );
}

#[test]
fn postgres_statements_after_bodies_are_linted() {
    let text = format!("{PG_PROCEDURAL}\nALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;\n");
    let findings = lint(Engine::Postgres, &text, "");
    let f = findings
        .iter()
        .find(|f| f.rule == "pg-set-not-null")
        .expect("flagged");
    assert_eq!(f.line, text[..f.span.start].matches('\n').count() + 1);
    assert!(text[f.span.clone()].starts_with("ALTER COLUMN user_id"));
}

#[test]
fn postgres_garbage_does_not_panic() {
    for text in [
        "",
        ";;;",
        "ALTER TABLE",
        "CREATE INDEX ON",
        "$$",
        "DO $x$ unterminated",
        "ALTER TABLE t ADD COLUMN",
        "ALTER TABLE \"unterminated",
        "/* open comment",
        "é🙂;ALTER TABLE é ADD COLUMN ü int DEFAULT random();",
    ] {
        let _ = lint(Engine::Postgres, text, "");
        let _ = lint(Engine::Postgres, text, "no-transaction pg=11");
    }
}

const MY_DELIMITER: &str = r#"
SET SESSION lock_wait_timeout = 5;
DELIMITER //
CREATE PROCEDURE backfill()
BEGIN
  DECLARE done INT DEFAULT 0;
  -- ALTER TABLE orders DROP COLUMN x;
  UPDATE orders SET note = 'a;b' WHERE id < 10;
  ALTER TABLE ignored_inside_body ADD COLUMN y INT;
END //
CREATE TRIGGER trg BEFORE INSERT ON orders FOR EACH ROW BEGIN SET NEW.note = 'x;'; END//
DELIMITER ;
# a hash comment; with a semicolon
SELECT `weird``name;`, "double;quoted", 'single\'; quoted' FROM `t`;
/*!40101 SET NAMES utf8mb4 */;
"#;

#[test]
fn mysql_delimiter_scripts() {
    let findings = lint(Engine::Mysql, MY_DELIMITER, "");
    // The procedure and trigger are DDL (each commits): that is the only hazard here.
    let rules = rules_of(&findings);
    assert!(
        rules.iter().all(|r| *r == "my-ddl-implicit-commit"),
        "{findings:#?}"
    );
}

#[test]
fn mysql_statements_after_delimiter_blocks_are_linted() {
    let text =
        format!("{MY_DELIMITER}\nALTER TABLE orders DROP COLUMN legacy, ALGORITHM=INSTANT;\n");
    let findings = lint(Engine::Mysql, &text, "");
    let f = findings
        .iter()
        .find(|f| f.rule == "compat-drop-column")
        .expect("flagged");
    assert!(text[f.span.clone()].starts_with("DROP COLUMN legacy"));
}

#[test]
fn mysql_garbage_does_not_panic() {
    for text in [
        "",
        ";",
        "DELIMITER",
        "DELIMITER $$\nSELECT 1 $$",
        "ALTER TABLE",
        "ALTER TABLE t ADD",
        "ALTER TABLE t MODIFY",
        "'unterminated",
        "`open",
        "/*! open",
        "-- \n#\n/* */",
        "ALTER TABLE t ADD COLUMN (a INT, b INT)",
        "ALTER TABLE t CHANGE",
        "é🙂 ALTER",
    ] {
        let _ = lint(Engine::Mysql, text, "");
        let _ = lint(Engine::Mysql, text, "mariadb=10.3.1");
    }
}
