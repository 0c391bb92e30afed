use crate::finding::Severity;
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-vacuum-full-cluster",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "VACUUM FULL or CLUSTER",
    why: "Both rewrite the whole table under ACCESS EXCLUSIVE: no reads or writes until the copy is done.",
    versions: "PG19 adds REPACK (CONCURRENTLY).",
    bad: "VACUUM FULL orders;",
    good: "-- zdm:no-transaction\nVACUUM orders;\n-- to reclaim space online: pg_repack -t orders (or pg_squeeze)",
    example_env: "no-transaction",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let what = match st.kind {
        Kind::Vacuum { full: true } => "VACUUM FULL",
        Kind::Cluster => "CLUSTER",
        _ => return,
    };
    let alt = if cx.out.opts.pg_version >= 19 {
        "REPACK (CONCURRENTLY) …, or pg_repack / pg_squeeze"
    } else {
        "pg_repack or pg_squeeze (online rebuild with a brief lock at the end)"
    };
    cx.out.report(
        &RULE,
        st.range.clone(),
        format!("{what} rewrites the table under ACCESS EXCLUSIVE: no reads or writes until it finishes"),
        format!("Use {alt}; plain VACUUM (no FULL) does not block reads or writes."),
        Some("ACCESS EXCLUSIVE on the table: blocks every read and write for the whole rewrite".into()),
    );
}
