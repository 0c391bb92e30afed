use crate::finding::Severity;
use crate::pg::locks::{describe, LockMode};
use crate::pg::model::{ActionKind, Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::QName;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-fk-locks-parent",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "a FOREIGN KEY (even NOT VALID, even in CREATE TABLE) locks the referenced table",
    why: "Creating a foreign key takes SHARE ROW EXCLUSIVE on the referenced (parent) table to install its triggers: writes to the parent block, and the statement queues behind any long query on the parent.",
    versions: "",
    bad: "CREATE TABLE order_notes (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id));",
    good: "SET lock_timeout = '2s';\nCREATE TABLE order_notes (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id));",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let parents: Vec<(QName, std::ops::Range<usize>)> = match &st.kind {
        Kind::CreateTable {
            columns,
            constraints,
            ..
        } => columns
            .iter()
            .filter_map(|c| c.references.clone().map(|r| (r, c.range.clone())))
            .chain(
                constraints
                    .iter()
                    .filter_map(|c| c.ref_table.clone().map(|r| (r, c.range.clone()))),
            )
            .collect(),
        Kind::AlterTable { actions, .. } => actions
            .iter()
            .filter_map(|a| match &a.kind {
                ActionKind::AddConstraint(c) => c.ref_table.clone().map(|r| (r, a.range.clone())),
                ActionKind::AddColumn(c) => c.references.clone().map(|r| (r, a.range.clone())),
                _ => None,
            })
            .collect(),
        _ => return,
    };
    // With a lock_timeout the wait is bounded and zdm retries; that is the mitigation.
    if cx.lock_timeout {
        return;
    }
    for (parent, range) in parents {
        if !cx.existing(&parent) {
            continue;
        }
        cx.out.report(
            &RULE,
            range,
            format!("creating a foreign key takes SHARE ROW EXCLUSIVE on the referenced table {parent}: writes to it block while this waits and runs"),
            "Bound the wait and retry instead of queueing behind long queries on the parent:\n  SET lock_timeout = '2s';\nand run it outside the parent's peak hours.".into(),
            Some(describe(LockMode::ShareRowExclusive, &parent, "")),
        );
    }
}
