use crate::finding::Severity;
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-reindex-not-concurrent",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "REINDEX without CONCURRENTLY",
    why: "REINDEX locks out writes to the table (SHARE) and takes ACCESS EXCLUSIVE on the index being rebuilt, so queries using the index block for the whole rebuild.",
    versions: "REINDEX … CONCURRENTLY exists from PostgreSQL 12 and cannot run in a transaction.",
    bad: "REINDEX INDEX orders_user_id_idx;",
    good: "-- zdm:no-transaction\nREINDEX INDEX CONCURRENTLY orders_user_id_idx;",
    example_env: "no-transaction",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Kind::Reindex {
        concurrently: false,
        target,
    } = &st.kind
    else {
        return;
    };
    if target.to_uppercase().starts_with("SYSTEM") {
        return; // system catalogs cannot be reindexed concurrently
    }
    let help = if cx.out.opts.pg_version >= 12 {
        let (kind, rest) = target
            .split_once(char::is_whitespace)
            .unwrap_or((target.as_str(), ""));
        format!("Rebuild without blocking, in a migration with `-- zdm:no-transaction`:\n  REINDEX {} CONCURRENTLY {};", kind.to_uppercase(), rest.trim())
    } else {
        "PostgreSQL before 12 has no REINDEX CONCURRENTLY: CREATE INDEX CONCURRENTLY a copy, DROP INDEX CONCURRENTLY the old one, then rename.".into()
    };
    cx.out.report(
        &RULE,
        st.range.clone(),
        "REINDEX without CONCURRENTLY blocks writes to the table and reads through the index for the whole rebuild".into(),
        help,
        Some("SHARE on the table (blocks INSERT/UPDATE/DELETE) and ACCESS EXCLUSIVE on the index, for the whole rebuild".into()),
    );
}
