use crate::finding::Severity;
use crate::mysql::model::Stmt;
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::my_ident;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "my-add-column-not-null-no-default",
    engine: Engine::Mysql,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "ADD COLUMN … NOT NULL without a DEFAULT",
    why: "Existing rows silently get the type's implicit default ('' / 0 / zero date), and INSERTs from code that does not know the column fail in strict mode (error 1364).",
    versions: "",
    bad: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders ADD COLUMN currency CHAR(3) NOT NULL, ALGORITHM=INSTANT;",
    good: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders ADD COLUMN currency CHAR(3) NOT NULL DEFAULT 'EUR', ALGORITHM=INSTANT;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    for (table, s, col) in super::added_columns(cx, st) {
        if !col.not_null || col.default.is_some() || col.auto_increment || col.generated {
            continue;
        }
        let ty = col.ty.as_ref().map(|t| t.text.clone()).unwrap_or_default();
        cx.out.report(
            &RULE,
            s.range.clone(),
            format!("NOT NULL column {table}.{} has no DEFAULT: existing rows get an implicit ''/0 and INSERTs that omit it fail in strict mode", col.name),
            format!("Give it an explicit default:\n  ALTER TABLE {} ADD COLUMN {} {ty} NOT NULL DEFAULT <value>, ALGORITHM=INSTANT;", table.my(), my_ident(&col.name)),
            None,
        );
    }
}
