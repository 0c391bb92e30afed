use crate::finding::Severity;
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-truncate-cascade",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "TRUNCATE … CASCADE",
    why: "CASCADE also empties every table with a foreign key to the truncated ones, recursively: tables you did not name lose all rows, under ACCESS EXCLUSIVE.",
    versions: "",
    bad: "TRUNCATE orders CASCADE;",
    good: "TRUNCATE order_items, orders;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Kind::Truncate {
        tables,
        cascade: true,
    } = &st.kind
    else {
        return;
    };
    let list = tables.iter().map(|t| t.pg()).collect::<Vec<_>>().join(", ");
    cx.out.report(
        &RULE,
        st.range.clone(),
        format!("TRUNCATE {list} CASCADE also empties every table referencing them, recursively"),
        format!("Name every table to empty explicitly (it fails instead of silently widening):\n  TRUNCATE <referencing tables>, {list};"),
        Some("ACCESS EXCLUSIVE on every truncated table: blocks every read and write".into()),
    );
}
