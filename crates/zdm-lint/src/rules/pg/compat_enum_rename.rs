use crate::finding::Severity;
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-enum-rename",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "ALTER TYPE … RENAME VALUE",
    why: "Running code that writes or compares the old label fails or silently mismatches after the rename.",
    versions: "",
    bad: "ALTER TYPE order_status RENAME VALUE 'canceled' TO 'cancelled';",
    good: "ALTER TYPE order_status ADD VALUE 'cancelled' AFTER 'canceled';\n-- migrate rows and code to the new value; stop using the old one",
    example_env: "no-transaction",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Kind::EnumRenameValue { type_name } = &st.kind else {
        return;
    };
    cx.out.report(
        &RULE,
        st.range.clone(),
        format!("renaming a value of {type_name} breaks running code that uses the old label"),
        format!("Add the new value, migrate data and code, then stop using the old one:\n  ALTER TYPE {} ADD VALUE '<new>' AFTER '<old>';", type_name.pg()),
        None,
    );
}
