use crate::finding::Severity;
use crate::mysql::model::{Kind, SpecKind, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "my-rebuild-ops",
    engine: Engine::Mysql,
    severity: Severity::Error,
    default_enabled: true,
    summary: "OPTIMIZE TABLE, ALTER … FORCE / ENGINE= / ROW_FORMAT= / ORDER BY, CONVERT TO CHARACTER SET",
    why: "Each rebuilds the whole table. CONVERT TO CHARACTER SET and ORDER BY copy it with writes blocked; the others rebuild INPLACE but are I/O heavy and lag replicas for the whole rebuild.",
    versions: "",
    bad: "OPTIMIZE TABLE orders;",
    good: "-- rebuild big tables with gh-ost / pt-online-schema-change, off-peak",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let hits: Vec<(std::ops::Range<usize>, String, bool)> = match &st.kind {
        Kind::Optimize { tables } => tables
            .iter()
            .filter(|t| cx.existing(t))
            .map(|t| (st.range.clone(), format!("OPTIMIZE TABLE {t}"), false))
            .collect(),
        Kind::AlterTable { table, specs, .. } if cx.existing(table) => specs
            .iter()
            .filter_map(|s| match &s.kind {
                SpecKind::Rebuild(what) => Some((
                    s.range.clone(),
                    format!("ALTER TABLE {table} {what}"),
                    what == "ORDER BY",
                )),
                SpecKind::ConvertCharset => Some((
                    s.range.clone(),
                    format!("ALTER TABLE {table} CONVERT TO CHARACTER SET"),
                    true,
                )),
                _ => None,
            })
            .collect(),
        _ => return,
    };
    for (range, what, copy) in hits {
        cx.out.report(
            &RULE,
            range,
            format!("{what} rebuilds the whole table{}", if copy { " with writes blocked (COPY)" } else { ": heavy I/O and replica lag for its duration" }),
            "Use gh-ost or pt-online-schema-change for large tables, or schedule a maintenance window.".into(),
            copy.then(|| "SHARED (COPY): blocks writes for the whole rebuild".to_string()),
        );
    }
}
