use crate::finding::Severity;
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-drop-table",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "DROP TABLE of an existing table",
    why: "Running code that uses the table fails at once, the data is gone, and the drop takes ACCESS EXCLUSIVE on the table (and SHARE ROW EXCLUSIVE on tables it references).",
    versions: "",
    bad: "DROP TABLE audit_log;",
    good: "ALTER TABLE audit_log RENAME TO audit_log_deprecated_20260101;\n-- drop it in a later release, after checking nothing uses it",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Kind::Drop { what, names, .. } = &st.kind else {
        return;
    };
    if what != "TABLE" {
        return;
    }
    let existing: Vec<_> = names.iter().filter(|n| cx.existing(n)).cloned().collect();
    for n in existing {
        cx.out.report(
            &RULE,
            st.range.clone(),
            format!("dropping table {n} breaks running code that uses it and destroys its data"),
            format!("Rename it first and drop it in a later release (zdm's drop_table operation archives it until complete):\n  ALTER TABLE {} RENAME TO {};", n.pg(), crate::schema::pg_ident(&format!("{}_deprecated", n.name))),
            Some(format!("ACCESS EXCLUSIVE on {n}: blocks every read and write")),
        );
    }
}
