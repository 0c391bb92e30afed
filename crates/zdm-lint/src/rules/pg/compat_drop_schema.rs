use crate::finding::Severity;
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-drop-schema",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "DROP SCHEMA",
    why: "Drops every object in the schema with CASCADE (or fails without it); code using any of them breaks and the data is gone.",
    versions: "",
    bad: "DROP SCHEMA reporting CASCADE;",
    good: "ALTER SCHEMA reporting RENAME TO reporting_deprecated;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Kind::Drop { what, names, .. } = &st.kind else {
        return;
    };
    if what != "SCHEMA" {
        return;
    }
    let list = names
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    cx.out.report(
        &RULE,
        st.range.clone(),
        format!("dropping schema {list} breaks everything that uses its objects and destroys their data"),
        format!("Check it is empty or unused first; rename it and drop it in a later release:\n  ALTER SCHEMA {} RENAME TO {};", names.first().map(|n| n.pg()).unwrap_or_default(), crate::schema::pg_ident(&format!("{}_deprecated", names.first().map(|n| n.name.as_str()).unwrap_or("schema")))),
        None,
    );
}
