use super::{cols, con_name};
use crate::finding::Severity;
use crate::pg::locks::{describe, LockMode};
use crate::pg::model::{ActionKind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::{pg_ident, ConKind};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-add-unique-constraint",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "ADD UNIQUE (or a new column with inline UNIQUE) on an existing table",
    why: "The unique index behind the constraint is built while the ALTER holds ACCESS EXCLUSIVE: no reads or writes for the whole build.",
    versions: "",
    bad: "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
    good: "-- zdm:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);\n-- next migration:\n-- ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;",
    example_env: "no-transaction",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Some((table, actions)) = super::alter_existing(cx, st) else {
        return;
    };
    for a in actions {
        let (name, columns) = match &a.kind {
            ActionKind::AddConstraint(c)
                if c.kind == ConKind::Unique && c.using_index.is_none() =>
            {
                (
                    con_name(
                        &c.name,
                        &format!("{}_{}_key", table.name, c.columns.join("_")),
                    ),
                    c.columns.clone(),
                )
            }
            ActionKind::AddColumn(c) if c.unique => (
                pg_ident(&format!("{}_{}_key", table.name, c.name)),
                vec![c.name.clone()],
            ),
            _ => continue,
        };
        let t = table.pg();
        cx.out.report(
            &RULE,
            a.range.clone(),
            format!("adding a UNIQUE constraint to {table} builds its index under ACCESS EXCLUSIVE"),
            format!(
                "Build the index concurrently, then attach it (a quick catalog change):\n  -- migration with `-- zdm:no-transaction`:\n  CREATE UNIQUE INDEX CONCURRENTLY {name} ON {t} ({});\n  -- next migration:\n  ALTER TABLE {t} ADD CONSTRAINT {name} UNIQUE USING INDEX {name};",
                cols(&columns)
            ),
            Some(describe(LockMode::AccessExclusive, table, " for the whole index build")),
        );
    }
}
