use crate::finding::Severity;
use crate::mysql::model::{Kind, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-drop-database",
    engine: Engine::Mysql,
    severity: Severity::Error,
    default_enabled: true,
    summary: "DROP DATABASE / DROP SCHEMA",
    why: "Destroys every table in the database; never part of an application migration.",
    versions: "",
    bad: "DROP DATABASE analytics;",
    good: "-- drop databases by hand, after a backup",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Kind::DropDatabase { name } = &st.kind else {
        return;
    };
    cx.out.report(
        &RULE,
        st.range.clone(),
        format!("DROP DATABASE {name} destroys every table in it"),
        "Do not drop databases in migrations; do it by hand after a backup.".into(),
        None,
    );
}
