use crate::finding::Severity;
use crate::pg::locks::describe;
use crate::pg::model::Stmt;
use crate::pg::Cx;
use crate::rules::pg::write_blocking_lock;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-require-lock-timeout",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    // `zdm migrate` sets lock_timeout on its session and retries; enable this rule when the
    // files are also run by other tools.
    default_enabled: false,
    summary: "a write-blocking lock on an existing table with no lock_timeout set",
    why: "A lock request queues behind any long-running query; while it waits, every later query on the table queues behind it. Without lock_timeout the table is effectively down for as long as the longest query runs.",
    versions: "Off by default: `zdm migrate` sets lock_timeout on its session and retries on timeout. Enable it for files run by other tools.",
    bad: "ALTER TABLE orders ADD COLUMN note text;",
    good: "SET lock_timeout = '2s';\nALTER TABLE orders ADD COLUMN note text;",
    example_env: "enable=pg-require-lock-timeout",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    if cx.lock_timeout || cx.reported_lock_timeout {
        return;
    }
    let Some((table, mode)) = write_blocking_lock(cx, st) else {
        return;
    };
    cx.reported_lock_timeout = true;
    cx.out.report(
        &RULE,
        st.range.clone(),
        format!("{} on {table} is requested with no lock_timeout: while it waits behind running queries, all later queries on {table} queue behind it", mode.name()),
        "Set a short lock timeout at the top of the migration and retry on failure:\n  SET lock_timeout = '2s';".into(),
        Some(describe(mode, &table, " while it waits")),
    );
}
