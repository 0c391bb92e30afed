use crate::finding::Severity;
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-multiple-alters",
    engine: Engine::Postgres,
    severity: Severity::Info,
    default_enabled: true,
    summary: "several ALTER TABLE statements on the same existing table in one migration",
    why: "Each ALTER TABLE queues for its own ACCESS EXCLUSIVE lock (and may rewrite or scan again); one ALTER with comma-separated actions takes the lock once and does at most one pass.",
    versions: "",
    bad: "ALTER TABLE orders ADD COLUMN a text;\nALTER TABLE orders ADD COLUMN b text;",
    good: "ALTER TABLE orders ADD COLUMN a text, ADD COLUMN b text;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    if let Kind::AlterTable { table, .. } = &st.kind {
        // Only ALTERs that queue for ACCESS EXCLUSIVE count.
        let exclusive = crate::pg::locks::locks(st, cx.schema)
            .iter()
            .any(|(t, m)| t == table && *m == crate::pg::locks::LockMode::AccessExclusive);
        if exclusive && cx.existing(table) {
            cx.alters
                .entry(table.clone())
                .or_default()
                .push(st.range.clone());
        }
    }
}

pub(crate) fn finish(cx: &mut Cx) {
    let alters = std::mem::take(&mut cx.alters);
    for (table, ranges) in alters {
        if ranges.len() < 2 {
            continue;
        }
        let n = ranges.len();
        cx.out.report(
            &RULE,
            ranges[1].clone(),
            format!("{n} ALTER TABLE statements on {table} in this migration: each one queues for ACCESS EXCLUSIVE separately"),
            format!("Combine them into one statement: ALTER TABLE {} <action>, <action>, …;", table.pg()),
            None,
        );
    }
}
