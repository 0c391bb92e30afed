use crate::finding::Severity;
use crate::mysql::model::{Default, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::my_ident;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "my-add-column-expression-default",
    engine: Engine::Mysql,
    severity: Severity::Error,
    default_enabled: true,
    summary: "ADD COLUMN with an expression default: DEFAULT (now()), (uuid()), even (3)",
    why: "An expression default is evaluated for every existing row, so the ALTER rebuilds the table (no INSTANT) and non-deterministic expressions make it unsafe for statement-based replication.",
    versions: "Expression defaults exist from MySQL 8.0.13 (MariaDB 10.2).",
    bad: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders ADD COLUMN public_id CHAR(36) DEFAULT (uuid()), ALGORITHM=INPLACE, LOCK=NONE;",
    good: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders ADD COLUMN public_id CHAR(36), ALGORITHM=INSTANT;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    for (table, s, col) in super::added_columns(cx, st) {
        let Some(Default::Expression(expr)) = &col.default else {
            continue;
        };
        let ty = col.ty.as_ref().map(|t| t.text.clone()).unwrap_or_default();
        let c = my_ident(&col.name);
        let t = table.my();
        cx.out.report(
            &RULE,
            s.range.clone(),
            format!("adding {table}.{} with DEFAULT ({expr}) evaluates the expression for every row: a full table rebuild", col.name),
            format!("Add it without a default (INSTANT), set the default for new rows, backfill in batches:\n  ALTER TABLE {t} ADD COLUMN {c} {ty}, ALGORITHM=INSTANT;\n  ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT ({expr}), ALGORITHM=INSTANT;\n  UPDATE {t} SET {c} = {expr} WHERE <key range> AND {c} IS NULL;  -- in batches"),
            None,
        );
    }
}
