use crate::finding::Severity;
use crate::pg::model::Stmt;
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::pg_ident;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-add-column-required",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "ADD COLUMN … NOT NULL without a DEFAULT",
    why: "Existing rows would get NULL, so the ALTER fails on any non-empty table; and old application code that does not know the column fails every INSERT.",
    versions: "PG11+: a non-volatile DEFAULT makes NOT NULL safe and instant.",
    bad: "ALTER TABLE orders ADD COLUMN currency text NOT NULL;",
    good: "ALTER TABLE orders ADD COLUMN currency text NOT NULL DEFAULT 'EUR';",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    for (table, a, col) in super::added_columns(cx, st) {
        let has_default = col.default.as_ref().is_some_and(|d| !d.is_null)
            || col.generated.is_some()
            || col.ty.as_ref().is_some_and(|t| t.is_serial());
        if !col.not_null || has_default {
            continue;
        }
        let t = table.pg();
        let c = pg_ident(&col.name);
        let ty = col.ty.as_ref().map(|t| t.text.clone()).unwrap_or_default();
        cx.out.report(
            &RULE,
            a.range.clone(),
            format!("adding NOT NULL column {table}.{} without a DEFAULT fails on a non-empty table and breaks INSERTs from code that does not set it", col.name),
            format!("Give it a constant default (instant on PG11+), or add it nullable and backfill:\n  ALTER TABLE {t} ADD COLUMN {c} {ty} NOT NULL DEFAULT <constant>;\nor\n  ALTER TABLE {t} ADD COLUMN {c} {ty};"),
            None,
        );
    }
}
