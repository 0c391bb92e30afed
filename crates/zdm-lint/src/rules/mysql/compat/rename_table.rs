use crate::finding::Severity;
use crate::mysql::model::{Kind, SpecKind, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::QName;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-rename-table",
    engine: Engine::Mysql,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "RENAME TABLE / ALTER TABLE … RENAME of an existing table",
    why: "Running code that uses the old table name fails from the moment the rename commits.",
    versions: "",
    bad: "RENAME TABLE customers TO clients;",
    good: "-- keep the old name working: a view (simple tables only), or rename in a release after all code uses the new name",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let pairs: Vec<(QName, QName, std::ops::Range<usize>)> = match &st.kind {
        Kind::RenameTable { pairs } => pairs
            .iter()
            .map(|(a, b)| (a.clone(), b.clone(), st.range.clone()))
            .collect(),
        Kind::AlterTable { table, specs, .. } => specs
            .iter()
            .filter_map(|s| match &s.kind {
                SpecKind::RenameTable { to } => Some((table.clone(), to.clone(), s.range.clone())),
                _ => None,
            })
            .collect(),
        _ => return,
    };
    // Swapping a shadow table in (`RENAME TABLE t TO t_old, t_new TO t`, what online schema
    // change tools do) keeps every name working: not a compatibility break.
    let froms: Vec<&str> = pairs.iter().map(|(a, _, _)| a.name.as_str()).collect();
    if pairs
        .iter()
        .any(|(_, b, _)| froms.contains(&b.name.as_str()))
    {
        return;
    }
    let targets: Vec<String> = pairs.iter().map(|(_, b, _)| b.name.clone()).collect();
    for (from, to, range) in pairs {
        if !cx.existing(&from) || targets.contains(&from.name) {
            continue;
        }
        cx.out.report(
            &RULE,
            range,
            format!("renaming {from} to {to} breaks running code that still uses {}", from.name),
            format!("Keep the old name working during the transition, e.g.\n  CREATE VIEW {} AS SELECT * FROM {};\n(or rename only after every deployed version uses {}).", from.my(), to.my(), to.name),
            None,
        );
    }
}
