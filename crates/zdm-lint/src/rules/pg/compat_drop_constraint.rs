use crate::finding::Severity;
use crate::pg::model::{ActionKind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-drop-constraint",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "DROP CONSTRAINT on an existing table",
    why: "Code may rely on the constraint (ON CONFLICT on a unique key, cascades, error handling); data it guarded can now go bad, and re-adding it later needs a full validation.",
    versions: "",
    bad: "ALTER TABLE orders DROP CONSTRAINT orders_user_id_fkey;",
    good: "-- deploy code that no longer relies on the constraint first, then:\n-- zdm-lint: ignore compat-drop-constraint -- no code relies on it since release 12\nALTER TABLE orders DROP CONSTRAINT orders_user_id_fkey;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Some((table, actions)) = super::alter_existing(cx, st) else {
        return;
    };
    for a in actions {
        let ActionKind::DropConstraint { name } = &a.kind else {
            continue;
        };
        cx.out.report(
            &RULE,
            a.range.clone(),
            format!("dropping constraint {name} on {table}: code relying on it (ON CONFLICT, cascades, integrity) breaks or lets bad data in"),
            "Deploy code that no longer relies on the constraint first; re-adding it later needs NOT VALID + VALIDATE.".into(),
            None,
        );
    }
}
