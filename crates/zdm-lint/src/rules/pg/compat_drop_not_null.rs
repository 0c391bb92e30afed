use crate::finding::Severity;
use crate::pg::model::{ActionKind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-drop-not-null",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "ALTER COLUMN … DROP NOT NULL on an existing table",
    why: "The new code may write NULLs that the old code, still running, does not expect (crashes on read, wrong aggregates). It also cannot be rolled back once NULLs exist.",
    versions: "",
    bad: "ALTER TABLE orders ALTER COLUMN shipped_at DROP NOT NULL;",
    good: "-- keep NOT NULL and use a marker value, or add a new nullable column and migrate readers first",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Some((table, actions)) = super::alter_existing(cx, st) else {
        return;
    };
    for a in actions {
        let ActionKind::DropNotNull { column } = &a.kind else {
            continue;
        };
        cx.out.report(
            &RULE,
            a.range.clone(),
            format!("{table}.{column} may now hold NULLs that running code does not expect, and the change cannot be rolled back once it does"),
            "Deploy code that handles NULL first; or keep NOT NULL with a marker value, or add a new nullable column (expand/contract).".into(),
            None,
        );
    }
}
