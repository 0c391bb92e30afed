use crate::finding::Severity;
use crate::mysql::model::{SpecKind, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "my-add-column-not-instant",
    engine: Engine::Mysql,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "ADD COLUMN that cannot be INSTANT on the target version or table",
    why: "Without INSTANT, ADD COLUMN rebuilds the table (INPLACE): online for reads and writes, but I/O heavy, replicated serially (replica lag) and with exclusive metadata locks at start and end.",
    versions: "INSTANT ADD COLUMN: MySQL 8.0.12+ / MariaDB 10.3.2+ (last column only); anywhere: MySQL 8.0.29+ / MariaDB 10.4+. Not for ROW_FORMAT=COMPRESSED or tables with FULLTEXT indexes; MySQL 8.0.29+ allows 64 instant ADD/DROPs per table before a rebuild (255 from 9.1, unverified).",
    bad: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders ADD COLUMN note TEXT AFTER id, ALGORITHM=INPLACE, LOCK=NONE;",
    good: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders ADD COLUMN note TEXT, ALGORITHM=INSTANT;",
    example_env: "mysql=8.0.28",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Some((table, specs)) = super::alter_existing(cx, st) else {
        return;
    };
    let mut others_block = false;
    for s in specs {
        if let SpecKind::AddColumn { col, position } = &s.kind {
            if let Some(reason) = super::add_column_not_instant(cx, table, col, *position) {
                if col.auto_increment
                    || col.generated_stored
                    || matches!(
                        col.default,
                        Some(crate::mysql::model::Default::Expression(_))
                    )
                {
                    continue; // their own rules report these
                }
                let fix = if *position {
                    "add the column last (drop FIRST/AFTER), or upgrade"
                } else {
                    "plan for a rebuild (online tool for big tables), or upgrade"
                };
                cx.out.report(
                    &RULE,
                    s.range.clone(),
                    format!("ADD COLUMN {} on {table} cannot be INSTANT: {reason}; it rebuilds the table", col.name),
                    format!("To keep it INSTANT, {fix}; pin ALGORITHM=INSTANT so the server refuses a rebuild:\n  ALTER TABLE {} ADD COLUMN {} {}, ALGORITHM=INSTANT;", table.my(), crate::schema::my_ident(&col.name), col.ty.as_ref().map(|t| t.text.clone()).unwrap_or_default()),
                    None,
                );
            }
        } else if !matches!(s.kind, SpecKind::Algorithm(_) | SpecKind::Lock(_))
            && !super::instant_ok(cx, table, std::slice::from_ref(s))
        {
            others_block = true;
        }
    }
    let instant_adds = specs.iter().any(|s| matches!(&s.kind, SpecKind::AddColumn { col, position } if super::add_column_not_instant(cx, table, col, *position).is_none()));
    if others_block && instant_adds {
        cx.out.report(
            &RULE,
            st.range.clone(),
            format!("this ALTER on {table} combines ADD COLUMN with an action that is not INSTANT: the whole statement rebuilds the table"),
            "Split it: the ADD COLUMN alone with ALGORITHM=INSTANT, the other actions in their own ALTER.".into(),
            None,
        );
    }
}
