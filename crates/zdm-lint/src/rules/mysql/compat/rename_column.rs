use crate::finding::Severity;
use crate::mysql::model::{SpecKind, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-rename-column",
    engine: Engine::Mysql,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "RENAME COLUMN, or CHANGE old new with a different name",
    why: "The rename is cheap (INSTANT on MySQL 8.0.28+), but every running instance of the old code uses the old name and fails from that moment.",
    versions: "",
    bad: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE users RENAME COLUMN name TO full_name, ALGORITHM=INSTANT;",
    good: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE users ADD COLUMN full_name VARCHAR(200), ALGORITHM=INSTANT;\n-- dual-write, backfill, switch reads, drop name later",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Some((table, specs)) = super::super::alter_existing(cx, st) else {
        return;
    };
    for s in specs {
        let (from, to) = match &s.kind {
            SpecKind::RenameColumn { from, to } => (from, to),
            SpecKind::ModifyColumn { old, col } if !old.eq_ignore_ascii_case(&col.name) => {
                (old, &col.name)
            }
            _ => continue,
        };
        cx.out.report(
            &RULE,
            s.range.clone(),
            format!("renaming {table}.{from} to {to} breaks running code that still uses {from}"),
            format!("Expand/contract: add {to}, write both, backfill, switch reads, then drop {from} in a later release:\n  ALTER TABLE {} ADD COLUMN {} <type>, ALGORITHM=INSTANT;", table.my(), crate::schema::my_ident(to)),
            None,
        );
    }
}
