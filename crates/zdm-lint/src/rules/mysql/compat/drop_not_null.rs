use crate::finding::Severity;
use crate::mysql::model::Stmt;
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-drop-not-null",
    engine: Engine::Mysql,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "MODIFY/CHANGE making a NOT NULL column nullable",
    why: "New code may write NULLs that the old code, still running, does not expect; and the change rebuilds the table (INPLACE).",
    versions: "",
    bad: "CREATE TABLE orders (id BIGINT PRIMARY KEY, shipped_at DATETIME NOT NULL);\n---\nSET SESSION lock_wait_timeout = 5;\nALTER TABLE orders MODIFY shipped_at DATETIME NULL, ALGORITHM=INPLACE, LOCK=NONE;",
    good: "-- keep NOT NULL and use a marker value, or add a new nullable column and migrate readers first",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    for (table, s, old, col) in super::super::modified_columns(cx, st) {
        let was_not_null = cx
            .schema
            .table(table)
            .and_then(|t| t.column(old))
            .is_some_and(|c| c.not_null);
        if col.not_null || !was_not_null {
            continue;
        }
        cx.out.report(
            &RULE,
            s.range.clone(),
            format!("{table}.{old} may now hold NULLs that running code does not expect"),
            "Deploy code that handles NULL first, or add a new nullable column (expand/contract)."
                .into(),
            None,
        );
    }
}
