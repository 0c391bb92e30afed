use super::{cols, con_name};
use crate::finding::Severity;
use crate::pg::locks::{describe, LockMode};
use crate::pg::model::{ActionKind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::ConKind;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-constraint-not-valid",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "ADD CHECK / FOREIGN KEY (and NOT NULL on PG18+) to an existing table without NOT VALID",
    why: "Adding a validated constraint scans the whole table while holding the ALTER's lock: ACCESS EXCLUSIVE for CHECK (no reads or writes), SHARE ROW EXCLUSIVE on both tables for a FOREIGN KEY (no writes).",
    versions: "NOT VALID for CHECK and FOREIGN KEY on all supported versions; for NOT NULL constraints from PostgreSQL 18.",
    bad: "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0);",
    good: "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;\n-- in a later migration (SHARE UPDATE EXCLUSIVE: reads and writes continue):\n-- ALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Some((table, actions)) = super::alter_existing(cx, st) else {
        return;
    };
    for a in actions {
        if let ActionKind::AddColumn(col) = &a.kind {
            if let Some(r) = &col.references {
                let t = table.pg();
                let c = crate::schema::pg_ident(&col.name);
                let ty = col.ty.as_ref().map(|t| t.text.clone()).unwrap_or_default();
                let fk = crate::schema::pg_ident(&format!("{}_{}_fkey", table.name, col.name));
                cx.out.report(
                    &RULE,
                    a.range.clone(),
                    format!("adding {table}.{} with an inline REFERENCES validates the foreign key over the whole table while holding ACCESS EXCLUSIVE", col.name),
                    format!("Add the column, then the foreign key NOT VALID, and validate it in a later migration:\n  ALTER TABLE {t} ADD COLUMN {c} {ty};\n  ALTER TABLE {t} ADD CONSTRAINT {fk} FOREIGN KEY ({c}) REFERENCES {} NOT VALID;\n  -- next migration:\n  ALTER TABLE {t} VALIDATE CONSTRAINT {fk};", r.pg()),
                    Some(format!("{}; {}", describe(LockMode::AccessExclusive, table, ""), describe(LockMode::ShareRowExclusive, r, ""))),
                );
            }
        }
        let ActionKind::AddConstraint(c) = &a.kind else {
            continue;
        };
        if c.not_valid || c.using_index.is_some() {
            continue;
        }
        let lock = match c.kind {
            ConKind::Check => LockMode::AccessExclusive,
            ConKind::ForeignKey => LockMode::ShareRowExclusive,
            ConKind::NotNull if cx.out.opts.pg_version >= 18 => LockMode::AccessExclusive,
            _ => continue,
        };
        let text = cx.out.slice(&c.range).trim().to_string();
        let name = con_name(
            &c.name,
            &format!(
                "{}_{}",
                table.name,
                if c.kind == ConKind::ForeignKey {
                    "fkey"
                } else {
                    "check"
                }
            ),
        );
        let with_name = if c.name.is_some() {
            text.clone()
        } else {
            format!("CONSTRAINT {name} {text}")
        };
        let what = match c.kind {
            ConKind::Check => "CHECK",
            ConKind::ForeignKey => "FOREIGN KEY",
            _ => "NOT NULL",
        };
        let mut locks = describe(lock, table, " while every row is checked");
        if let (ConKind::ForeignKey, Some(r)) = (c.kind, &c.ref_table) {
            locks.push_str(&format!(
                "; {}",
                describe(LockMode::ShareRowExclusive, r, "")
            ));
        }
        let _ = cols(&c.columns);
        cx.out.report(
            &RULE,
            a.range.clone(),
            format!("adding {what} constraint to {table} validates every existing row while holding {}", lock.name()),
            format!(
                "Add it NOT VALID (new rows are checked at once), then validate in a later transaction under SHARE UPDATE EXCLUSIVE, which lets reads and writes continue:\n  ALTER TABLE {} ADD {with_name} NOT VALID;\n  -- next migration:\n  ALTER TABLE {} VALIDATE CONSTRAINT {name};",
                table.pg(),
                table.pg()
            ),
            Some(locks),
        );
    }
}
