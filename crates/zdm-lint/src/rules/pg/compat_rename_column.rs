use crate::finding::Severity;
use crate::pg::model::{ActionKind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::pg_ident;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-rename-column",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "RENAME COLUMN on an existing table",
    why: "The rename is instant, but every running instance of the old code uses the old name and fails from that moment on.",
    versions: "",
    bad: "ALTER TABLE users RENAME COLUMN name TO full_name;",
    good: "-- zdm's rename_column operation: old code sees the old name through a version view\n-- or: add full_name, dual-write, backfill, switch reads, drop name later",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Some((table, actions)) = super::alter_existing(cx, st) else {
        return;
    };
    for a in actions {
        let ActionKind::RenameColumn { from, to } = &a.kind else {
            continue;
        };
        cx.out.report(
            &RULE,
            a.range.clone(),
            format!("renaming {table}.{from} to {to} breaks every running instance of the code that still uses {from}"),
            format!("Use zdm's rename_column operation (old versions keep the old name through views), or expand/contract:\n  ALTER TABLE {} ADD COLUMN {} <type>;  -- dual-write, backfill, switch reads, then drop {}", table.pg(), pg_ident(to), pg_ident(from)),
            None,
        );
    }
}
