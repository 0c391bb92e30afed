use crate::finding::Severity;
use crate::mysql::model::{Kind, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "my-ddl-implicit-commit",
    engine: Engine::Mysql,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "several DDL statements in one migration, or DDL inside a transaction",
    why: "Every DDL statement commits implicitly (and commits any open transaction first). If a later statement fails, the earlier ones stay applied and nothing rolls back: the schema is half migrated and a re-run fails on what already exists.",
    versions: "",
    bad: "SET SESSION lock_wait_timeout = 5;\nCREATE TABLE a (id BIGINT PRIMARY KEY);\nCREATE TABLE b (id BIGINT PRIMARY KEY);",
    good: "SET SESSION lock_wait_timeout = 5;\nCREATE TABLE IF NOT EXISTS a (id BIGINT PRIMARY KEY);\nCREATE TABLE IF NOT EXISTS b (id BIGINT PRIMARY KEY);",
    example_env: "",
};

fn is_ddl(k: &Kind) -> bool {
    matches!(
        k,
        Kind::AlterTable { .. }
            | Kind::CreateTable {
                temporary: false,
                ..
            }
            | Kind::CreateIndex { .. }
            | Kind::DropIndex { .. }
            | Kind::DropTable {
                temporary: false,
                ..
            }
            | Kind::DropDatabase { .. }
            | Kind::RenameTable { .. }
            | Kind::Truncate { .. }
            | Kind::OtherDdl
            | Kind::Compat { .. }
    )
}

/// Whether the statement is written to be re-runnable (IF [NOT] EXISTS).
fn guarded(text: &str) -> bool {
    let t = text.to_uppercase();
    t.contains("IF NOT EXISTS") || t.contains("IF EXISTS")
}

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    if !is_ddl(&st.kind) {
        return;
    }
    if cx.in_tx {
        cx.out.report(
            &RULE,
            st.range.clone(),
            "DDL inside a transaction commits it implicitly: the statements before it cannot be rolled back".into(),
            "Run DDL outside START TRANSACTION … COMMIT; MySQL cannot roll DDL back.".into(),
            None,
        );
    }
    cx.ddl_seen += 1;
    if cx.ddl_seen >= 2 && !guarded(cx.out.slice(&st.range)) {
        let n = cx.ddl_seen;
        cx.out.report(
            &RULE,
            st.range.clone(),
            format!("DDL statement #{n} in this file: each commits implicitly, so if this one fails the earlier ones stay applied and a re-run fails on them"),
            "Put one DDL statement per migration, or make every statement re-runnable (CREATE … IF NOT EXISTS, DROP … IF EXISTS, ADD COLUMN IF NOT EXISTS on MariaDB).".into(),
            None,
        );
    }
}
