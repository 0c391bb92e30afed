use crate::finding::Severity;
use crate::pg::locks::describe;
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-hold-strong-lock",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "more statements (especially backfills) after an ACCESS EXCLUSIVE / SHARE ROW EXCLUSIVE lock in the same transaction",
    why: "Locks are held until COMMIT. Every statement after a strong lock in the same transaction extends the time the table is blocked; an UPDATE backfill there blocks it for the whole backfill.",
    versions: "zdm runs a .sql file in one transaction unless it has `-- zdm:no-transaction`.",
    bad: "ALTER TABLE orders ADD COLUMN status text;\nUPDATE orders SET status = 'new';",
    good: "ALTER TABLE orders ADD COLUMN status text;\n-- separate migration, batched: UPDATE orders SET status = 'new' WHERE id BETWEEN … AND …;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Some((table, mode)) = cx.tx.strong.clone() else {
        return;
    };
    if !cx.tx.active() || (cx.concurrent_split_out && cx.must_run_outside_transaction(st)) {
        return;
    }
    let backfill = matches!(
        &st.kind,
        Kind::Dml {
            verb: "UPDATE" | "DELETE" | "INSERT" | "MERGE",
            ..
        }
    );
    let trivial = matches!(
        &st.kind,
        Kind::Commit
            | Kind::Rollback
            | Kind::Savepoint
            | Kind::Set { .. }
            | Kind::Reset { .. }
            | Kind::Begin
    ) || matches!(&st.kind, Kind::Other { ddl: false, .. } if cx.out.slice(&st.range).trim_start().to_ascii_uppercase().starts_with("COMMENT"));
    if trivial || (!backfill && cx.tx.hold_reported) {
        return;
    }
    cx.tx.hold_reported = true;
    let (msg, help) = if let Kind::Dml {
        verb,
        table: target,
    } = &st.kind
    {
        (
            format!("{verb} on {target} runs while this transaction holds {} on {table}: the table stays blocked for the whole {verb}", mode.name()),
            "Commit the DDL first and backfill in a separate migration, in batches (each its own short transaction):\n  UPDATE … WHERE id BETWEEN $start AND $end;".to_string(),
        )
    } else {
        (
            format!("this statement runs while the transaction still holds {} on {table}, extending the time the table is blocked", mode.name()),
            "Keep the strong-lock statement last in its transaction, or split the migration so each strong lock is taken in a short transaction of its own.".to_string(),
        )
    };
    cx.out.report(
        &RULE,
        st.range.clone(),
        msg,
        help,
        Some(describe(mode, &table, " until COMMIT")),
    );
}
