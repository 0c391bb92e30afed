use crate::finding::Severity;
use crate::pg::locks::{describe, LockMode};
use crate::pg::model::{DefaultExpr, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::pg_ident;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-add-column-volatile-default",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "ADD COLUMN with a volatile DEFAULT (or any non-NULL default before PG11)",
    why: "A volatile default (random(), gen_random_uuid(), clock_timestamp(), nextval(), a function an earlier migration created without IMMUTABLE/STABLE, or one whose volatility is unknown) must be computed per row, so PostgreSQL rewrites the whole table under ACCESS EXCLUSIVE. Before PostgreSQL 11 every non-NULL default rewrites.",
    versions: "PG11+: constant and STABLE defaults (now(), 'x', 0) are stored in the catalog, no rewrite. PG10 and older: any non-NULL default rewrites.",
    bad: "ALTER TABLE orders ADD COLUMN public_id uuid DEFAULT gen_random_uuid();",
    good: "ALTER TABLE orders ADD COLUMN public_id uuid;\nALTER TABLE orders ALTER COLUMN public_id SET DEFAULT gen_random_uuid();\n-- then backfill existing rows in batches, outside this transaction",
    example_env: "",
};

/// Built-in functions that are VOLATILE.
const VOLATILE: &[&str] = &[
    "random",
    "random_normal",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "setval",
    "txid_current",
    "pg_current_xact_id",
    "gen_random_bytes",
    "uuid",
];

/// Built-in functions that are IMMUTABLE or STABLE: safe as a default on PG11+.
const NOT_VOLATILE: &[&str] = &[
    "now",
    "transaction_timestamp",
    "statement_timestamp",
    "current_timestamp",
    "current_date",
    "localtimestamp",
    "lower",
    "upper",
    "length",
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "concat",
    "concat_ws",
    "to_char",
    "to_date",
    "to_timestamp",
    "to_number",
    "make_date",
    "make_interval",
    "make_timestamp",
    "make_timestamptz",
    "date_trunc",
    "jsonb_build_object",
    "json_build_object",
    "jsonb_build_array",
    "json_build_array",
    "array_fill",
    "abs",
    "round",
    "trim",
    "btrim",
    "ltrim",
    "rtrim",
    "replace",
    "substring",
    "format",
    "md5",
    "current_user",
    "session_user",
    "current_setting",
    "int4range",
    "int8range",
    "tstzrange",
    "daterange",
    "numrange",
    "point",
    "jsonb",
    "json",
    "string_to_array",
    "array_agg",
    "timezone",
];

/// Why `d` is volatile, if it is (`None` = constant or STABLE).
pub(crate) fn volatility(d: &DefaultExpr, schema: &crate::schema::Schema) -> Option<String> {
    for f in &d.calls {
        let name = f.rsplit('.').next().unwrap_or(f);
        // Functions the migrations defined: their declared volatility decides.
        match schema.function_volatile(name) {
            Some(true) => {
                return Some(format!(
                    "{name}() is declared VOLATILE (the default) in an earlier migration"
                ))
            }
            Some(false) => continue,
            None => {}
        }
        if VOLATILE.contains(&name) {
            return Some(format!("{name}() is VOLATILE"));
        }
        if !NOT_VOLATILE.contains(&name) {
            return Some(format!(
                "the volatility of {name}() is unknown (a user function may be VOLATILE)"
            ));
        }
    }
    None
}

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    for (table, a, col) in super::added_columns(cx, st) {
        let Some(d) = col.default.as_ref().filter(|d| !d.is_null) else {
            continue;
        };
        let reason = if cx.out.opts.pg_version < 11 {
            Some(format!(
                "before PostgreSQL 11 any non-NULL default (here {}) rewrites the table",
                d.text
            ))
        } else {
            volatility(d, cx.schema)
        };
        let Some(reason) = reason else { continue };
        let t = table.pg();
        let c = pg_ident(&col.name);
        let ty = col.ty.as_ref().map(|t| t.text.clone()).unwrap_or_default();
        cx.out.report(
            &RULE,
            a.range.clone(),
            format!("adding {table}.{} with DEFAULT {} rewrites the whole table under ACCESS EXCLUSIVE: {reason}", col.name, d.text),
            format!(
                "Add the column without a default, set the default for new rows, then backfill in batches outside the DDL transaction:\n  ALTER TABLE {t} ADD COLUMN {c} {ty};\n  ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {};\n  -- backfill: UPDATE {t} SET {c} = {} WHERE <key range> AND {c} IS NULL;",
                d.text, d.text
            ),
            Some(describe(LockMode::AccessExclusive, table, " for the whole table rewrite")),
        );
    }
}
