use crate::finding::Severity;
use crate::pg::locks::{describe, LockMode};
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::QName;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-index-drop-not-concurrent",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "DROP INDEX without CONCURRENTLY",
    why: "DROP INDEX takes ACCESS EXCLUSIVE on the index's table. The drop itself is quick, but while it waits for running queries every new query on the table queues behind it.",
    versions: "All versions. DROP INDEX CONCURRENTLY cannot run in a transaction and takes one index at a time.",
    bad: "DROP INDEX orders_user_id_idx;",
    good: "-- zdm:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS orders_user_id_idx;",
    example_env: "no-transaction",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Kind::DropIndex {
        names,
        concurrently: false,
        ..
    } = &st.kind
    else {
        return;
    };
    // An index on a table created in this file is harmless to drop.
    let tables: Vec<QName> = names
        .iter()
        .filter_map(|n| {
            cx.schema
                .index(n)
                .map(|i| QName::new(Some(&i.table.0), &i.table.1))
        })
        .collect();
    if !tables.is_empty() && tables.iter().all(|t| !cx.existing(t)) {
        return;
    }
    let help = names
        .iter()
        .map(|n| format!("  DROP INDEX CONCURRENTLY IF EXISTS {};", n.pg()))
        .collect::<Vec<_>>()
        .join("\n");
    let lock = tables
        .first()
        .map(|t| describe(LockMode::AccessExclusive, t, " while it waits and drops"));
    cx.out.report(
        &RULE,
        st.range.clone(),
        "DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE on the table; queries queue behind it while it waits for running ones".into(),
        format!("Drop each index concurrently in a migration with `-- zdm:no-transaction`:\n{help}"),
        lock.or_else(|| Some("ACCESS EXCLUSIVE on the index's table: blocks every read and write".into())),
    );
}
