use crate::finding::Severity;
use crate::pg::model::{ActionKind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-drop-column",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "DROP COLUMN on an existing table",
    why: "Application code still deployed (the old version during a rolling deploy) that reads or writes the column fails at once. The data is gone; a rollback cannot bring it back.",
    versions: "",
    bad: "ALTER TABLE users DROP COLUMN legacy_flag;",
    good: "-- release 1: stop reading/writing legacy_flag; release 2 (after every instance runs release 1):\n-- zdm-lint: ignore compat-drop-column -- no code reads legacy_flag since release 1\nALTER TABLE users DROP COLUMN legacy_flag;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Some((table, actions)) = super::alter_existing(cx, st) else {
        return;
    };
    for a in actions {
        let ActionKind::DropColumn { name } = &a.kind else {
            continue;
        };
        cx.out.report(
            &RULE,
            a.range.clone(),
            format!("dropping {table}.{name} breaks every running version of the application that still reads or writes it, and the data cannot be restored by a rollback"),
            format!("Expand/contract: first deploy code that no longer uses {name}; drop it in a later release (zdm's drop_column operation keeps it until complete), and check it holds nothing you need:\n  SELECT count(*) FROM {} WHERE {} IS NOT NULL;", table.pg(), crate::schema::pg_ident(name)),
            None,
        );
    }
}
