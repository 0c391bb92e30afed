use crate::finding::Severity;
use crate::mysql::model::Stmt;
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "my-add-stored-generated",
    engine: Engine::Mysql,
    severity: Severity::Error,
    default_enabled: true,
    summary: "ADD COLUMN … AS (…) STORED on an existing table",
    why: "A STORED generated column is computed and written for every row: a table copy with writes blocked. A VIRTUAL one is computed on read and added instantly.",
    versions: "",
    bad: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders ADD COLUMN total_cents BIGINT AS (total * 100) STORED, ALGORITHM=INPLACE, LOCK=NONE;",
    good: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders ADD COLUMN total_cents BIGINT AS (total * 100) VIRTUAL, ALGORITHM=INSTANT;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    for (table, s, col) in super::added_columns(cx, st) {
        if !col.generated_stored {
            continue;
        }
        let text = cx
            .out
            .slice(&s.range)
            .replace("STORED", "VIRTUAL")
            .replace("stored", "VIRTUAL")
            .replace("PERSISTENT", "VIRTUAL");
        cx.out.report(
            &RULE,
            s.range.clone(),
            format!("adding STORED generated column {table}.{} computes and writes it for every row: a blocking table copy", col.name),
            format!("Use a VIRTUAL generated column (index it later if needed):\n  ALTER TABLE {} {text}, ALGORITHM=INSTANT;", table.my()),
            Some(super::copy_lock(table)),
        );
    }
}
