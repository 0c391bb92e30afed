use crate::finding::Severity;
use crate::mysql::model::Stmt;
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "my-set-not-null",
    engine: Engine::Mysql,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "MODIFY/CHANGE making a nullable column NOT NULL",
    why: "The change rebuilds the table (INPLACE) and, unless sql_mode is strict, silently converts existing NULLs to '' / 0; in strict mode it fails on the first NULL after a long rebuild.",
    versions: "",
    bad: "CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id BIGINT NULL);\n---\nSET SESSION lock_wait_timeout = 5;\nALTER TABLE orders MODIFY user_id BIGINT NOT NULL, ALGORITHM=INPLACE, LOCK=NONE;",
    good: "CREATE TABLE orders (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL);\n---\nSET SESSION lock_wait_timeout = 5;\nALTER TABLE orders MODIFY user_id BIGINT NOT NULL COMMENT 'owner', ALGORITHM=INPLACE, LOCK=NONE;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    for (table, s, old, col) in super::modified_columns(cx, st) {
        if !col.not_null {
            continue;
        }
        let was = cx
            .schema
            .table(table)
            .and_then(|t| t.column(old))
            .map(|c| c.not_null);
        if was == Some(true) {
            continue;
        }
        let unknown = if was.is_none() {
            " (if it was nullable: the linter does not know)"
        } else {
            ""
        };
        cx.out.report(
            &RULE,
            s.range.clone(),
            format!("making {table}.{old} NOT NULL{unknown} rebuilds the table and converts or rejects existing NULLs"),
            format!("Backfill first (in batches) and run with a strict sql_mode so NULLs fail instead of turning into ''/0:\n  UPDATE {} SET {} = <value> WHERE {} IS NULL LIMIT 1000;  -- repeat\nthen the MODIFY; for huge tables use an online schema change tool.", table.my(), crate::schema::my_ident(old), crate::schema::my_ident(old)),
            None,
        );
    }
}
