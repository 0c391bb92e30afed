use crate::finding::Severity;
use crate::mysql::model::{Kind, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "my-require-lock-wait-timeout",
    engine: Engine::Mysql,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "DDL on an existing table without a short lock_wait_timeout",
    why: "Every DDL, even INSTANT, needs an exclusive metadata lock. While it waits behind a long transaction, every new query on the table queues behind it. The default lock_wait_timeout is 31,536,000 s (a year).",
    versions: "MySQL's max_execution_time limits SELECT only; MariaDB has max_statement_time.",
    bad: "ALTER TABLE orders ADD COLUMN note TEXT, ALGORITHM=INSTANT;",
    good: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders ADD COLUMN note TEXT, ALGORITHM=INSTANT;",
    example_env: "",
};

const MAX_SECONDS: f64 = 60.0;

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let table = match &st.kind {
        Kind::AlterTable { table, .. }
        | Kind::CreateIndex { table, .. }
        | Kind::DropIndex { table, .. }
        | Kind::Truncate { table } => table.clone(),
        Kind::DropTable { tables, .. } => match tables.first() {
            Some(t) => t.clone(),
            None => return,
        },
        Kind::RenameTable { pairs } => match pairs.first() {
            Some((t, _)) => t.clone(),
            None => return,
        },
        _ => return,
    };
    if !cx.existing(&table)
        || cx.reported_lock_wait
        || cx.lock_wait_timeout.is_some_and(|t| t <= MAX_SECONDS)
    {
        return;
    }
    cx.reported_lock_wait = true;
    let now = match cx.lock_wait_timeout {
        Some(t) => format!("lock_wait_timeout is {t} s"),
        None => "no lock_wait_timeout is set (default: one year)".into(),
    };
    cx.out.report(
        &RULE,
        st.range.clone(),
        format!("{now}: while this DDL waits for the metadata lock on {table}, every query on {table} queues behind it"),
        "Set a short timeout at the top of the migration and retry on error 1205:\n  SET SESSION lock_wait_timeout = 5;".into(),
        Some(format!("exclusive metadata lock on {table}: while waiting, blocks every new query on it")),
    );
}
