use crate::finding::Severity;
use crate::mysql::model::{Kind, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "my-lock-clause",
    engine: Engine::Mysql,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "LOCK=SHARED or LOCK=EXCLUSIVE on ALTER TABLE / CREATE INDEX",
    why: "LOCK=SHARED blocks all writes and LOCK=EXCLUSIVE blocks reads and writes for the whole operation, even when the server could run it online.",
    versions: "",
    bad: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders ADD INDEX orders_user_idx (user_id), ALGORITHM=INPLACE, LOCK=SHARED;",
    good: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders ADD INDEX orders_user_idx (user_id), ALGORITHM=INPLACE, LOCK=NONE;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let (table, lock) = match &st.kind {
        Kind::AlterTable {
            table,
            lock: Some(l),
            ..
        }
        | Kind::CreateIndex {
            table,
            lock: Some(l),
            ..
        } => (table, l),
        _ => return,
    };
    if !cx.existing(table) || !(lock.0 == "SHARED" || lock.0 == "EXCLUSIVE") {
        return;
    }
    let blocks = if lock.0 == "SHARED" {
        "blocks every write"
    } else {
        "blocks every read and write"
    };
    cx.out.report(
        &RULE,
        lock.1.clone(),
        format!("LOCK={} on {table} {blocks} for the whole operation", lock.0),
        "Use LOCK=NONE (the server refuses if it cannot), or leave LOCK out with ALGORITHM=INSTANT.".into(),
        Some(format!("{} on {table}: {blocks}", lock.0)),
    );
}
