use crate::finding::Severity;
use crate::mysql::model::{IndexKind, Kind, SpecKind, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "my-index-build",
    engine: Engine::Mysql,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "ADD INDEX / CREATE INDEX on an existing table",
    why: "Secondary index builds are online (INPLACE, LOCK=NONE) but read the whole table, are I/O heavy and are replicated serially, so replicas lag for the build's duration. FULLTEXT and SPATIAL indexes are not online: they block writes (LOCK=SHARED), and the first FULLTEXT index rebuilds the table.",
    versions: "",
    bad: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders ADD FULLTEXT INDEX orders_note_ft (note), ALGORITHM=INPLACE;",
    good: "-- build FULLTEXT indexes with an online schema change tool (gh-ost / pt-online-schema-change)",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let (table, builds): (_, Vec<(std::ops::Range<usize>, IndexKind)>) = match &st.kind {
        Kind::AlterTable { table, specs, .. } if cx.existing(table) => (
            table,
            specs
                .iter()
                .filter_map(|s| match &s.kind {
                    SpecKind::AddIndex { kind, .. } if *kind != IndexKind::Primary => {
                        Some((s.range.clone(), *kind))
                    }
                    _ => None,
                })
                .collect(),
        ),
        Kind::CreateIndex { table, kind, .. } if cx.existing(table) => {
            (table, vec![(st.range.clone(), *kind)])
        }
        _ => return,
    };
    for (range, kind) in builds {
        let (msg, locks) = match kind {
            IndexKind::Fulltext | IndexKind::Spatial => (
                format!("a {} index on {table} cannot be built online: writes are blocked for the whole build{}", if kind == IndexKind::Fulltext { "FULLTEXT" } else { "SPATIAL" }, if kind == IndexKind::Fulltext { " (the first one also rebuilds the table)" } else { "" }),
                Some(format!("SHARED on {table}: blocks writes for the whole build")),
            ),
            _ => (format!("building an index on {table} reads the whole table and is replicated serially: expect I/O load and replica lag"), None),
        };
        cx.out.report(
            &RULE,
            range,
            msg,
            "Schedule it off-peak and pin ALGORITHM=INPLACE, LOCK=NONE so it fails rather than blocking; for very large tables or FULLTEXT/SPATIAL use gh-ost or pt-online-schema-change.".into(),
            locks,
        );
    }
}
