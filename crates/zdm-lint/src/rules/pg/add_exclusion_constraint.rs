use crate::finding::Severity;
use crate::pg::locks::{describe, LockMode};
use crate::pg::model::{ActionKind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::ConKind;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-add-exclusion-constraint",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "ADD CONSTRAINT … EXCLUDE on an existing table",
    why: "The exclusion constraint's index is built and every row checked under ACCESS EXCLUSIVE. EXCLUDE constraints cannot be NOT VALID and cannot be attached from a concurrently built index, so there is no online path.",
    versions: "",
    bad: "ALTER TABLE bookings ADD CONSTRAINT bookings_no_overlap EXCLUDE USING gist (room_id WITH =, during WITH &&);",
    good: "CREATE TABLE bookings_new (LIKE bookings INCLUDING ALL, EXCLUDE USING gist (room_id WITH =, during WITH &&));\n-- backfill bookings_new, then swap the tables in a short maintenance step",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Some((table, actions)) = super::alter_existing(cx, st) else {
        return;
    };
    for a in actions {
        let ActionKind::AddConstraint(c) = &a.kind else {
            continue;
        };
        if c.kind != ConKind::Exclude {
            continue;
        }
        cx.out.report(
            &RULE,
            a.range.clone(),
            format!("adding an EXCLUDE constraint to {table} builds its index and checks every row under ACCESS EXCLUSIVE; it cannot be added NOT VALID"),
            format!("Create a new table with the constraint, backfill and swap, or run it in a maintenance window:\n  CREATE TABLE {} (LIKE {} INCLUDING ALL, {});", crate::schema::pg_ident(&format!("{}_new", table.name)), table.pg(), cx.out.slice(&c.range).trim()),
            Some(describe(LockMode::AccessExclusive, table, " for the index build")),
        );
    }
}
