use crate::finding::Severity;
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-drop-database",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "DROP DATABASE",
    why: "Destroys a whole database; never part of an application migration.",
    versions: "",
    bad: "DROP DATABASE analytics;",
    good: "-- drop databases by hand, after a backup, outside migrations",
    example_env: "no-transaction",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Kind::Drop { what, .. } = &st.kind else {
        return;
    };
    if what != "DATABASE" {
        return;
    }
    cx.out.report(
        &RULE,
        st.range.clone(),
        "DROP DATABASE destroys a whole database".into(),
        "Do not drop databases in migrations; do it by hand after a backup.".into(),
        None,
    );
}
