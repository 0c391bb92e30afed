use crate::finding::Severity;
use crate::pg::locks::{describe, LockMode};
use crate::pg::model::{ActionKind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-detach-partition-not-concurrent",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "ALTER TABLE … DETACH PARTITION without CONCURRENTLY",
    why: "A plain DETACH PARTITION takes ACCESS EXCLUSIVE on the partitioned table: every query on any partition waits.",
    versions: "DETACH PARTITION … CONCURRENTLY exists from PostgreSQL 14; it cannot run in a transaction. Not flagged for older versions (no alternative).",
    bad: "ALTER TABLE events DETACH PARTITION events_2020;",
    good: "-- zdm:no-transaction\nALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;",
    example_env: "no-transaction",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    if cx.out.opts.pg_version < 14 {
        return;
    }
    let Some((table, actions)) = super::alter_existing(cx, st) else {
        return;
    };
    for a in actions {
        if let ActionKind::DetachPartition {
            concurrently: false,
        } = a.kind
        {
            if cx.out.slice(&a.range).to_uppercase().contains("FINALIZE") {
                continue; // completes an interrupted DETACH … CONCURRENTLY
            }
            let text = cx.out.slice(&a.range).to_string();
            cx.out.report(
                &RULE,
                a.range.clone(),
                format!("DETACH PARTITION without CONCURRENTLY takes ACCESS EXCLUSIVE on {table}"),
                format!("In a migration with `-- zdm:no-transaction`:\n  ALTER TABLE {} {text} CONCURRENTLY;", table.pg()),
                Some(describe(LockMode::AccessExclusive, table, "")),
            );
        }
    }
}
