use crate::finding::Severity;
use crate::mysql::model::Stmt;
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "my-add-auto-increment",
    engine: Engine::Mysql,
    severity: Severity::Error,
    default_enabled: true,
    summary: "ADD COLUMN … AUTO_INCREMENT on an existing table",
    why: "Numbering the existing rows rebuilds the table with writes blocked (COPY), and with statement-based replication the replica may number the rows differently (divergence).",
    versions: "",
    bad: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE events ADD COLUMN seq BIGINT NOT NULL AUTO_INCREMENT UNIQUE, ALGORITHM=INPLACE, LOCK=NONE;",
    good: "CREATE TABLE events_new (seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, payload TEXT);\n-- copy rows in batches (or with an online schema change tool), then swap with RENAME TABLE",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    for (table, s, col) in super::added_columns(cx, st) {
        if !col.auto_increment {
            continue;
        }
        cx.out.report(
            &RULE,
            s.range.clone(),
            format!("adding AUTO_INCREMENT column {table}.{} numbers every existing row: a blocking table copy, and replicas may number rows differently", col.name),
            "Create a new table with the column, copy the rows in batches (or use gh-ost / pt-online-schema-change), then swap with RENAME TABLE.".into(),
            Some(super::copy_lock(table)),
        );
    }
}
