use crate::finding::Severity;
use crate::mysql::model::{SpecKind, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "my-add-foreign-key",
    engine: Engine::Mysql,
    severity: Severity::Error,
    default_enabled: true,
    summary: "ADD FOREIGN KEY to an existing table with foreign_key_checks=1",
    why: "With foreign_key_checks=1 adding a foreign key uses ALGORITHM=COPY: the table is copied while writes are blocked, and the parent table is locked too.",
    versions: "",
    bad: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id), ALGORITHM=INPLACE, LOCK=NONE;",
    good: "SET SESSION lock_wait_timeout = 5;\nSET SESSION foreign_key_checks = 0;\nALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id), ALGORITHM=INPLACE, LOCK=NONE;\nSET SESSION foreign_key_checks = 1;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    if cx.foreign_key_checks_off {
        return;
    }
    let Some((table, specs)) = super::alter_existing(cx, st) else {
        return;
    };
    for s in specs {
        let SpecKind::AddForeignKey { ref_table, .. } = &s.kind else {
            continue;
        };
        cx.out.report(
            &RULE,
            s.range.clone(),
            format!("adding a foreign key to {table} with foreign_key_checks=1 copies the table (ALGORITHM=COPY) and locks {ref_table}"),
            format!("Verify the data first (no orphans), then add it without the check, INPLACE, on one session (never through a pooler that may switch sessions):\n  SET SESSION foreign_key_checks = 0;\n  {}\n  SET SESSION foreign_key_checks = 1;", cx.out.slice(&st.range).trim().trim_end_matches(';').to_string() + ";"),
            Some(format!("SHARED on {table} and {ref_table} (COPY): blocks writes for the whole copy")),
        );
    }
}
