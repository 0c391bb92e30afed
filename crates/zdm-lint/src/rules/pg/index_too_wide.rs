use crate::finding::Severity;
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "index-too-wide",
    engine: Engine::Postgres,
    severity: Severity::Info,
    default_enabled: true,
    summary: "a non-unique index with more than 3 columns",
    why: "Wide indexes are large, slow every write, and the trailing columns are rarely used; a narrower index usually serves the same queries.",
    versions: "",
    bad: "-- zdm:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_wide_idx ON orders (a, b, c, d);",
    good: "-- zdm:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_a_b_idx ON orders (a, b);",
    example_env: "no-transaction",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Kind::CreateIndex {
        unique: false,
        columns,
        ..
    } = &st.kind
    else {
        return;
    };
    if columns.len() <= 3 {
        return;
    }
    cx.out.report(
        &RULE,
        st.range.clone(),
        format!("non-unique index over {} columns: large, slows every write, trailing columns rarely help", columns.len()),
        "Index the leading columns your queries filter on (usually up to 3); use INCLUDE for covering columns.".into(),
        None,
    );
}
