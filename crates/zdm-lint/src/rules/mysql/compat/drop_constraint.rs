use crate::finding::Severity;
use crate::mysql::model::{SpecKind, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-drop-constraint",
    engine: Engine::Mysql,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "DROP FOREIGN KEY / CHECK / CONSTRAINT, or dropping a UNIQUE index, on an existing table",
    why: "Code may rely on the constraint (ON DUPLICATE KEY UPDATE on a unique key, cascades, integrity); re-adding it later is a blocking COPY.",
    versions: "",
    bad: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders DROP FOREIGN KEY orders_user_fk, ALGORITHM=INPLACE, LOCK=NONE;",
    good: "-- deploy code that no longer relies on the constraint first, then:\nSET SESSION lock_wait_timeout = 5;\n-- zdm-lint: ignore compat-drop-constraint -- no code relies on it since release 12\nALTER TABLE orders DROP FOREIGN KEY orders_user_fk, ALGORITHM=INPLACE, LOCK=NONE;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Some((table, specs)) = super::super::alter_existing(cx, st) else {
        return;
    };
    for s in specs {
        let name = match &s.kind {
            SpecKind::DropForeignKey { name } | SpecKind::DropConstraint { name } => name.clone(),
            SpecKind::DropIndex { name }
                if cx
                    .schema
                    .index(&crate::schema::QName::bare(name))
                    .is_some_and(|i| i.unique) =>
            {
                name.clone()
            }
            _ => continue,
        };
        cx.out.report(
            &RULE,
            s.range.clone(),
            format!("dropping constraint {name} on {table}: code relying on it breaks or lets bad data in, and re-adding it later copies the table"),
            "Deploy code that no longer relies on the constraint first.".into(),
            None,
        );
    }
}
