use crate::finding::Severity;
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-index-corruption-14",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "CREATE INDEX / REINDEX CONCURRENTLY on PostgreSQL 14.0–14.3",
    why: "A bug in 14.0–14.3 can build concurrently created or rebuilt indexes that miss rows (silent corruption, wrong query results). Fixed in 14.4.",
    versions: "Only when the minor version is known (Options::pg_minor) and is 14.0–14.3.",
    bad: "-- zdm:no-transaction\nCREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);",
    good: "-- zdm:no-transaction\nCREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);",
    example_env: "no-transaction pg=14.2 | no-transaction pg=14.4",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    if cx.out.opts.pg_version != 14 || cx.out.opts.pg_minor.is_none_or(|m| m >= 4) {
        return;
    }
    if matches!(
        st.kind,
        Kind::CreateIndex {
            concurrently: true,
            ..
        } | Kind::Reindex {
            concurrently: true,
            ..
        }
    ) {
        cx.out.report(
            &RULE,
            st.range.clone(),
            "CONCURRENTLY index builds on PostgreSQL 14.0–14.3 can silently miss rows".into(),
            "Upgrade to 14.4 or later first, then REINDEX CONCURRENTLY indexes built concurrently on 14.0–14.3 (amcheck's bt_index_check(..., heapallindexed => true) finds them).".into(),
            None,
        );
    }
}
