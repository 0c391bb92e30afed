use crate::finding::Severity;
use crate::mysql::model::{SpecKind, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-drop-column",
    engine: Engine::Mysql,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "DROP COLUMN on an existing table",
    why: "Running code that reads or writes the column fails at once (unknown column), and the data is gone. The drop itself rebuilds the table unless INSTANT (MySQL 8.0.29+ / MariaDB 10.4+).",
    versions: "INSTANT DROP COLUMN from MySQL 8.0.29 / MariaDB 10.4.",
    bad: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE users DROP COLUMN legacy_flag, ALGORITHM=INSTANT;",
    good: "-- release 1: stop using legacy_flag; release 2:\nSET SESSION lock_wait_timeout = 5;\n-- zdm-lint: ignore compat-drop-column -- unused since release 1\nALTER TABLE users DROP COLUMN legacy_flag, ALGORITHM=INSTANT;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Some((table, specs)) = super::super::alter_existing(cx, st) else {
        return;
    };
    for s in specs {
        let SpecKind::DropColumn { name } = &s.kind else {
            continue;
        };
        cx.out.report(
            &RULE,
            s.range.clone(),
            format!("dropping {table}.{name} breaks running code that still uses it, and the data cannot be restored by a rollback"),
            format!("Expand/contract: deploy code that no longer uses {name} first, drop it in a later release; check it holds nothing you need:\n  SELECT COUNT(*) FROM {} WHERE {} IS NOT NULL;", table.my(), crate::schema::my_ident(name)),
            None,
        );
    }
}
