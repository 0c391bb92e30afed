use crate::finding::Severity;
use crate::pg::locks::{describe, LockMode};
use crate::pg::model::{ActionKind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::pg_ident;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-alter-type-rewrite",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "ALTER COLUMN TYPE that rewrites the table",
    why: "A type change that is not binary-coercible rewrites every row and rebuilds every index of the table under ACCESS EXCLUSIVE. Not flagged (metadata-only): varchar(n→≥n), varchar→text, numeric precision increase at the same scale, cidr→inet, timestamp↔timestamptz (PG12+, UTC), time/timestamp/interval precision increase, citext↔text on an unindexed column. The current type comes from the replayed migrations; unknown → flagged.",
    versions: "timestamp↔timestamptz is rewrite-free from PG12 when the session time zone is UTC.",
    bad: "CREATE TABLE events (id bigint PRIMARY KEY, amount integer);\n---\nALTER TABLE events ALTER COLUMN amount TYPE bigint;",
    good: "CREATE TABLE events (id bigint PRIMARY KEY, note varchar(100));\n---\nALTER TABLE events ALTER COLUMN note TYPE varchar(200);",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Some((table, actions)) = super::alter_existing(cx, st) else {
        return;
    };
    for a in actions {
        let ActionKind::AlterType { column, ty, using } = &a.kind else {
            continue;
        };
        let t = cx.schema.table(table);
        let current = t.and_then(|t| t.column(column)).and_then(|c| c.ty.clone());
        let indexed = cx
            .schema
            .indexes_on(table)
            .any(|i| i.columns.contains(column));
        // A USING that is just a cast to the new type changes nothing by itself.
        let trivial_using = using.as_deref().is_none_or(|u| {
            let u = u.to_lowercase().replace(['"', ' '], "");
            u == column.to_lowercase() || u.starts_with(&format!("{}::", column.to_lowercase()))
        });
        let reason = match &current {
            Some(cur) if trivial_using && cur.pg_change_is_metadata_only(ty, cx.out.opts.pg_version, indexed) => continue,
            Some(cur) if !trivial_using => format!("{} → {} with a USING expression rewrites every row", cur.text, ty.text),
            Some(cur) => format!("{} → {} is not binary-coercible", cur.text, ty.text),
            None => format!("the current type of {column} is unknown to the linter, so {} may rewrite (only a few changes, e.g. varchar widening, are metadata-only)", ty.text),
        };
        let tq = table.pg();
        let c = pg_ident(column);
        let newc = pg_ident(&format!("{column}_new"));
        cx.out.report(
            &RULE,
            a.range.clone(),
            format!("changing the type of {table}.{column} rewrites the table and rebuilds its indexes under ACCESS EXCLUSIVE: {reason}"),
            format!(
                "Expand/contract instead: add a new column, keep it in sync, backfill, swap:\n  ALTER TABLE {tq} ADD COLUMN {newc} {};\n  -- trigger copying {c} into {newc} on INSERT/UPDATE, batched backfill,\n  -- then switch readers and drop {c}. (zdm's alter_column operation does this for you.)",
                ty.text
            ),
            Some(describe(LockMode::AccessExclusive, table, " for the whole rewrite")),
        );
    }
}
