use crate::finding::Severity;
use crate::pg::locks::{describe, LockMode};
use crate::pg::model::{ActionKind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-table-rewrite",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "ALTER TABLE SET LOGGED/UNLOGGED, SET TABLESPACE or SET ACCESS METHOD on an existing table",
    why: "These copy the whole table (and its indexes) under ACCESS EXCLUSIVE. The other causes of rewrites have their own rules (pg-alter-type-rewrite, pg-add-column-rewrite, pg-add-column-volatile-default); a trace against a server catches the rest.",
    versions: "",
    bad: "ALTER TABLE events SET LOGGED;",
    good: "-- copy into a new LOGGED table in batches and swap, or accept a maintenance window",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Some((table, actions)) = super::alter_existing(cx, st) else {
        return;
    };
    for a in actions {
        let ActionKind::Rewrite { what } = a.kind else {
            continue;
        };
        cx.out.report(
            &RULE,
            a.range.clone(),
            format!("ALTER TABLE … {what} rewrites {table} and its indexes under ACCESS EXCLUSIVE"),
            "Copy into a new table in batches (or use pg_repack) and swap in a short step; or schedule a maintenance window.".into(),
            Some(describe(LockMode::AccessExclusive, table, " for the whole copy")),
        );
    }
}
