use crate::finding::Severity;
use crate::pg::model::Stmt;
use crate::pg::Cx;
use crate::rules::pg::write_blocking_lock;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-require-statement-timeout",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "a write-blocking lock on an existing table with no statement_timeout set",
    why: "Once granted, a strong lock is held until the statement (and its transaction) ends. A statement_timeout bounds how long a slower-than-expected DDL can keep the table blocked.",
    versions: "PG17+ also has transaction_timeout, which bounds the whole transaction.",
    bad: "ALTER TABLE orders ADD COLUMN note text;",
    good: "SET statement_timeout = '5s';\nALTER TABLE orders ADD COLUMN note text;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    if cx.statement_timeout || cx.reported_statement_timeout {
        return;
    }
    let Some((table, mode)) = write_blocking_lock(cx, st) else {
        return;
    };
    cx.reported_statement_timeout = true;
    let extra = if cx.out.opts.pg_version >= 17 {
        "\n  SET transaction_timeout = '30s';  -- PG17+: bounds the whole transaction"
    } else {
        ""
    };
    cx.out.report(
        &RULE,
        st.range.clone(),
        format!("{} on {table} is taken with no statement_timeout: if the statement runs long, {table} stays blocked until it ends", mode.name()),
        format!("Bound how long the lock can be held:\n  SET statement_timeout = '5s';{extra}"),
        None,
    );
}
