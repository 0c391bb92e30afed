use super::cols;
use crate::finding::Severity;
use crate::pg::locks::{describe, LockMode};
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::pg_ident;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-index-create-not-concurrent",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "CREATE INDEX without CONCURRENTLY on an existing table",
    why: "A plain CREATE INDEX holds a SHARE lock on the table for the whole build: every INSERT, UPDATE and DELETE waits until the index is built, minutes on a large table.",
    versions: "All versions. CONCURRENTLY cannot run inside a transaction: put it in its own migration with `-- zdm:no-transaction`. A failed concurrent build leaves an INVALID index: drop it before retrying.",
    bad: "CREATE INDEX orders_user_id_idx ON orders (user_id);",
    good: "-- zdm:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_user_id_idx ON orders (user_id);",
    example_env: "no-transaction",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Kind::CreateIndex {
        name,
        table,
        unique,
        concurrently: false,
        columns,
        partial,
        ..
    } = &st.kind
    else {
        return;
    };
    if !cx.existing(table) {
        return;
    }
    let name = name
        .as_ref()
        .map(|n| pg_ident(&n.name))
        .unwrap_or_else(|| "<index_name>".into());
    let unique_kw = if *unique { "UNIQUE " } else { "" };
    let where_note = if *partial { " WHERE …" } else { "" };
    cx.out.report(
        &RULE,
        st.range.clone(),
        format!("CREATE {unique_kw}INDEX on {table} without CONCURRENTLY blocks all writes to the table until the index is built"),
        format!(
            "Build it concurrently in its own migration with `-- zdm:no-transaction`:\n  CREATE {unique_kw}INDEX CONCURRENTLY IF NOT EXISTS {name} ON {} ({}){where_note};\nIf a concurrent build fails it leaves an INVALID index: DROP INDEX CONCURRENTLY IF EXISTS {name}; and retry.",
            table.pg(),
            cols(columns)
        ),
        Some(describe(LockMode::Share, table, " for the whole index build")),
    );
}
