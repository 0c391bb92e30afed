use crate::finding::Severity;
use crate::pg::locks::{describe, LockMode};
use crate::pg::model::{Generated, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::pg_ident;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-add-column-rewrite",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "ADD COLUMN serial/bigserial, identity, or GENERATED … STORED on an existing table",
    why: "Each of these computes a value for every existing row, so the table is rewritten (and its indexes rebuilt) under ACCESS EXCLUSIVE: no reads or writes until it finishes.",
    versions: "PG18: a VIRTUAL generated column is metadata-only and is not flagged.",
    bad: "ALTER TABLE orders ADD COLUMN seq bigserial;",
    good: "ALTER TABLE orders ADD COLUMN seq bigint;\n-- then: a sequence + DEFAULT nextval(...) for new rows, a batched backfill, NOT NULL via a validated CHECK",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    for (table, a, col) in super::added_columns(cx, st) {
        let what = match (&col.generated, &col.ty) {
            (Some(Generated::Stored), _) => {
                "a GENERATED … STORED column is computed for every row".to_string()
            }
            (Some(Generated::Identity), _) => {
                "an identity column is filled for every existing row".to_string()
            }
            (_, Some(t)) if t.is_serial() => {
                format!("{} fills a sequence value into every existing row", t.text)
            }
            _ => continue,
        };
        let t = table.pg();
        let c = pg_ident(&col.name);
        let base = match col.ty.as_ref().map(|t| t.name.as_str()) {
            Some("serial2") => "smallint".to_string(),
            Some("serial4") => "integer".to_string(),
            Some("serial8") => "bigint".to_string(),
            _ => col
                .ty
                .as_ref()
                .map(|t| t.text.clone())
                .unwrap_or_else(|| "bigint".into()),
        };
        let help = if col.generated == Some(Generated::Stored) && cx.out.opts.pg_version >= 18 {
            format!("On PostgreSQL 18 use a VIRTUAL generated column (computed on read, no rewrite):\n  ALTER TABLE {t} ADD COLUMN {c} {base} GENERATED ALWAYS AS (…) VIRTUAL;")
        } else {
            format!("Add a plain nullable column, keep it filled for new rows (DEFAULT or trigger), backfill in batches, then add NOT NULL safely:\n  ALTER TABLE {t} ADD COLUMN {c} {base};")
        };
        cx.out.report(
            &RULE,
            a.range.clone(),
            format!(
                "adding {table}.{} rewrites the table under ACCESS EXCLUSIVE: {what}",
                col.name
            ),
            help,
            Some(describe(
                LockMode::AccessExclusive,
                table,
                " for the whole table rewrite",
            )),
        );
    }
}
