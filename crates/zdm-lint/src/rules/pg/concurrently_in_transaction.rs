use crate::finding::Severity;
use crate::pg::model::{ActionKind, Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-concurrently-in-transaction",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "a CONCURRENTLY operation inside a transaction (explicit, or zdm's per-file transaction)",
    why: "PostgreSQL refuses CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY and DETACH PARTITION CONCURRENTLY inside a transaction block (error 25001), so the migration fails. zdm runs each .sql file in one transaction unless it starts with `-- zdm:no-transaction`.",
    versions: "",
    bad: "ALTER TABLE orders ADD COLUMN note text;\nCREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);",
    good: "-- zdm:no-transaction\nCREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let what = match &st.kind {
        Kind::CreateIndex {
            concurrently: true, ..
        } => "CREATE INDEX CONCURRENTLY",
        Kind::DropIndex {
            concurrently: true, ..
        } => "DROP INDEX CONCURRENTLY",
        Kind::Reindex {
            concurrently: true, ..
        } => "REINDEX CONCURRENTLY",
        Kind::AlterTable { actions, .. }
            if actions
                .iter()
                .any(|a| matches!(a.kind, ActionKind::DetachPartition { concurrently: true })) =>
        {
            "DETACH PARTITION CONCURRENTLY"
        }
        _ => return,
    };
    if !cx.tx.active() || (cx.concurrent_split_out && !cx.tx.explicit) {
        return;
    }
    let why = if cx.tx.explicit {
        "inside BEGIN … COMMIT"
    } else {
        "in zdm's transaction around the file"
    };
    cx.out.report(
        &RULE,
        st.range.clone(),
        format!("{what} cannot run in a transaction block ({why}): the migration fails with error 25001"),
        "Move it to its own migration file that starts with `-- zdm:no-transaction` (and no BEGIN/COMMIT); zdm then runs it statement by statement.".into(),
        None,
    );
}

/// zdm runs a file containing a statement that cannot run in a transaction statement by
/// statement; if the file has other statements, they silently lose their transaction.
pub(crate) fn implied(cx: &mut Cx, parsed: &crate::pg::Parsed) {
    let total = parsed.stmts.len();
    if total < 2 {
        return;
    }
    for st in &parsed.stmts {
        if !cx.must_run_outside_transaction(st) {
            continue;
        }
        cx.out.report(
            &RULE,
            st.range.clone(),
            format!("this statement cannot run in a transaction, so zdm runs the whole file statement by statement: the other {} statement(s) lose their transaction and a failure leaves the file half applied", total - 1),
            "Move it to a migration file of its own that starts with `-- zdm:no-transaction`; keep the other statements in a transactional file.".into(),
            None,
        );
    }
}
