use crate::finding::Severity;
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "tx-nesting",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "BEGIN/COMMIT/ROLLBACK inside a transaction zdm (or an earlier BEGIN) already opened",
    why: "zdm runs a .sql file in one transaction and records the migration in it. A nested BEGIN only warns, but a COMMIT in the file commits zdm's transaction early: later statements run outside it and a failure leaves the migration half applied and unrecorded.",
    versions: "",
    bad: "BEGIN;\nALTER TABLE orders ADD COLUMN note text;\nCOMMIT;",
    good: "ALTER TABLE orders ADD COLUMN note text;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let (what, help) = match &st.kind {
        Kind::Begin if cx.tx.active() => (
            if cx.tx.explicit { "BEGIN inside a transaction the file already opened" } else { "BEGIN inside zdm's transaction around the file" },
            "Remove BEGIN/COMMIT: zdm already runs the file in one transaction. For statements that must run outside a transaction, use `-- zdm:no-transaction`.",
        ),
        Kind::Commit | Kind::Rollback if cx.tx.implied && !cx.tx.explicit => (
            "COMMIT/ROLLBACK ends zdm's transaction around the file: later statements run outside it",
            "Remove it; to run statements in separate transactions, split the file or use `-- zdm:no-transaction`.",
        ),
        Kind::Commit | Kind::Rollback if !cx.tx.active() => (
            "COMMIT/ROLLBACK with no transaction open",
            "Remove it; it does nothing but warn, and suggests the file's transactions are not what you think.",
        ),
        _ => return,
    };
    cx.out
        .report(&RULE, st.range.clone(), what.into(), help.into(), None);
}
