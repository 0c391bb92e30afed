use crate::finding::Severity;
use crate::pg::locks::{describe, LockMode};
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-refresh-matview",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "REFRESH MATERIALIZED VIEW without CONCURRENTLY",
    why: "A plain refresh holds ACCESS EXCLUSIVE on the view for the whole recomputation: every SELECT from it blocks.",
    versions: "CONCURRENTLY needs a unique index on the view covering all rows.",
    bad: "REFRESH MATERIALIZED VIEW daily_totals;",
    good: "REFRESH MATERIALIZED VIEW CONCURRENTLY daily_totals;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Kind::Refresh {
        view,
        concurrently: false,
    } = &st.kind
    else {
        return;
    };
    if !cx.existing(view) {
        return;
    }
    cx.out.report(
        &RULE,
        st.range.clone(),
        format!("REFRESH MATERIALIZED VIEW {view} blocks every read of the view until the refresh finishes"),
        format!("Refresh concurrently (needs a unique index on the view):\n  REFRESH MATERIALIZED VIEW CONCURRENTLY {};", view.pg()),
        Some(describe(LockMode::AccessExclusive, view, " for the whole refresh")),
    );
}
