use crate::finding::Severity;
use crate::pg::locks::{describe, LockMode};
use crate::pg::model::{ActionKind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::{pg_ident, ConKind};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-set-not-null",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "ALTER COLUMN … SET NOT NULL on an existing column",
    why: "SET NOT NULL scans the whole table to prove there are no NULLs while holding ACCESS EXCLUSIVE: no reads or writes for the duration of the scan.",
    versions: "PG12–17: a validated CHECK (col IS NOT NULL) lets SET NOT NULL skip the scan. PG18+: ADD CONSTRAINT … NOT NULL col NOT VALID, then VALIDATE.",
    bad: "ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL;",
    good: "ALTER TABLE orders ADD CONSTRAINT orders_user_id_not_null CHECK (user_id IS NOT NULL) NOT VALID;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Some((table, actions)) = super::alter_existing(cx, st) else {
        return;
    };
    for a in actions {
        let ActionKind::SetNotNull { column } = &a.kind else {
            continue;
        };
        // A validated CHECK (col IS NOT NULL) makes it metadata-only on PG12+.
        let proven = cx.out.opts.pg_version >= 12
            && cx.schema.table(table).is_some_and(|t| {
                t.column(column).is_some_and(|c| c.not_null)
                    || t.checks_on(column).iter().any(|c| {
                        !c.not_valid && c.expr.as_deref().is_some_and(|e| e.contains("is not null"))
                    })
                    || t.constraints.iter().any(|c| c.kind == ConKind::NotNull && !c.not_valid && c.columns.contains(column))
                    // A validated constraint of unknown definition named after the column's
                    // NOT NULL check (e.g. validated in this file, added earlier): trust the name.
                    || t.constraints.iter().any(|c| {
                        c.expr.is_none() && !c.not_valid && c.name.as_deref().is_some_and(|n| n.contains(column.as_str()) && n.contains("null"))
                    })
            });
        if proven {
            continue;
        }
        let t = table.pg();
        let c = pg_ident(column);
        let cname = pg_ident(&format!("{}_{}_not_null", table.name, column));
        let help = if cx.out.opts.pg_version >= 18 {
            format!("On PostgreSQL 18+ add the NOT NULL constraint NOT VALID, then validate it in a later migration:\n  ALTER TABLE {t} ADD CONSTRAINT {cname} NOT NULL {c} NOT VALID;\n  -- next migration:\n  ALTER TABLE {t} VALIDATE CONSTRAINT {cname};")
        } else if cx.out.opts.pg_version >= 12 {
            format!("Prove it with a CHECK first; SET NOT NULL then skips the scan:\n  ALTER TABLE {t} ADD CONSTRAINT {cname} CHECK ({c} IS NOT NULL) NOT VALID;\n  -- next migration:\n  ALTER TABLE {t} VALIDATE CONSTRAINT {cname};\n  ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL;\n  ALTER TABLE {t} DROP CONSTRAINT {cname};")
        } else {
            format!("Before PostgreSQL 12 SET NOT NULL always scans: keep a validated CHECK instead:\n  ALTER TABLE {t} ADD CONSTRAINT {cname} CHECK ({c} IS NOT NULL) NOT VALID;\n  ALTER TABLE {t} VALIDATE CONSTRAINT {cname};")
        };
        cx.out.report(
            &RULE,
            a.range.clone(),
            format!(
                "SET NOT NULL on {table}.{column} scans the whole table under ACCESS EXCLUSIVE"
            ),
            help,
            Some(describe(
                LockMode::AccessExclusive,
                table,
                " while every row is checked",
            )),
        );
    }
}
