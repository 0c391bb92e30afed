use crate::finding::Severity;
use crate::mysql::model::{SpecKind, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "my-add-check-constraint",
    engine: Engine::Mysql,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "ADD CHECK on an existing table",
    why: "An enforced CHECK (MySQL 8.0.16+) is validated against every row with ALGORITHM=COPY while writes are blocked. There is no NOT VALID: adding it NOT ENFORCED and enforcing it later validates under the same lock.",
    versions: "MySQL before 8.0.16 parses and ignores CHECK; MariaDB enforces it from 10.2.1.",
    bad: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0), ALGORITHM=INPLACE, LOCK=NONE;",
    good: "-- enforce the rule in the application, or accept a maintenance window for the CHECK",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let v = cx.out.opts.mysql_version;
    if !v.is_mariadb() && !v.at_least(crate::dialect::MysqlFlavor::MySql, 8, 0, 16) {
        return;
    }
    let Some((table, specs)) = super::alter_existing(cx, st) else {
        return;
    };
    for s in specs {
        if !matches!(s.kind, SpecKind::AddCheck { .. }) {
            continue;
        }
        cx.out.report(
            &RULE,
            s.range.clone(),
            format!("adding a CHECK to {table} validates every row while writes are blocked (COPY)"),
            "There is no online way to add an enforced CHECK: enforce it in the application, use an online schema change tool, or schedule a maintenance window.".into(),
            Some(format!("SHARED on {table} (COPY): blocks writes while every row is checked")),
        );
    }
}
