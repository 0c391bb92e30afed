use crate::finding::Severity;
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-rename-object",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "RENAME of a schema, view, sequence, type, function or other object",
    why: "Code and other objects (views, functions, defaults) that refer to the old name fail once the rename commits.",
    versions: "",
    bad: "ALTER SCHEMA billing RENAME TO invoicing;",
    good: "-- keep the old name during the transition (a view, a wrapper function), rename later",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Kind::RenameObject { what, name } = &st.kind else {
        return;
    };
    if what == "INDEX" {
        return; // renaming an index breaks nothing that runs queries
    }
    cx.out.report(
        &RULE,
        st.range.clone(),
        format!("renaming {} {name} breaks code that still uses the old name", what.to_lowercase()),
        "Keep the old name available until no deployed code uses it (a view or wrapper with the old name), then rename.".into(),
        None,
    );
}
