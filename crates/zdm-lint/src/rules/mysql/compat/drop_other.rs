use crate::finding::Severity;
use crate::mysql::model::{Kind, SpecKind, Stmt};
use crate::mysql::Cx;
use crate::rules::{report_compat_other, CompatHits, Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-drop-other",
    engine: Engine::Mysql,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "DROP VIEW/PROCEDURE/FUNCTION/TRIGGER/EVENT, CREATE OR REPLACE of them, REVOKE, ALTER COLUMN … DROP DEFAULT",
    why: "Each removes or changes something running code may depend on: a view it queries, a routine it calls, a trigger keeping data consistent, a privilege, a default it relies on when inserting.",
    versions: "",
    bad: "DROP VIEW active_users;",
    good: "-- expand/contract: stop using the view in code first, drop it in a later release",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let hits: CompatHits = match &st.kind {
        Kind::Compat { what } => vec![(st.range.clone(), what.clone())],
        Kind::AlterTable { table, specs, .. } if cx.existing(table) => specs
            .iter()
            .filter_map(|s| match &s.kind {
                SpecKind::AlterColumnDefault { name, drop: true } => {
                    Some((s.range.clone(), format!("DROP DEFAULT on {table}.{name}")))
                }
                _ => None,
            })
            .collect(),
        _ => return,
    };
    report_compat_other(
        &mut cx.out,
        &RULE,
        hits,
        "Expand/contract: deploy code that no longer depends on it first, then change or drop it in a later release.",
    );
}
