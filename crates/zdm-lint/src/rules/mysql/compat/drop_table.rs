use crate::finding::Severity;
use crate::mysql::model::{Kind, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-drop-table",
    engine: Engine::Mysql,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "DROP TABLE of an existing table",
    why: "Running code that uses the table fails at once and the data is gone; on large tables the drop can also stall the server while the buffer pool is purged.",
    versions: "",
    bad: "DROP TABLE audit_log;",
    good: "RENAME TABLE audit_log TO audit_log_deprecated;\n-- drop it in a later release",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Kind::DropTable {
        tables,
        temporary: false,
    } = &st.kind
    else {
        return;
    };
    let existing: Vec<_> = tables.iter().filter(|t| cx.existing(t)).cloned().collect();
    for t in existing {
        cx.out.report(
            &RULE,
            st.range.clone(),
            format!("dropping table {t} breaks running code that uses it and destroys its data"),
            format!(
                "Rename it first and drop it in a later release:\n  RENAME TABLE {} TO {};",
                t.my(),
                crate::schema::my_ident(&format!("{}_deprecated", t.name))
            ),
            None,
        );
    }
}
