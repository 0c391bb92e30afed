use crate::finding::Severity;
use crate::mysql::model::{Kind, SpecKind, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "identifier-too-long",
    engine: Engine::Mysql,
    severity: Severity::Error,
    default_enabled: true,
    summary: "an identifier longer than 64 characters",
    why: "MySQL rejects table, column, index and constraint names over 64 characters (error 1059): the migration fails, after the DDL before it has committed.",
    versions: "",
    bad: "CREATE TABLE orders_with_a_name_that_is_much_too_long_for_mysql_to_accept_at_all (id BIGINT PRIMARY KEY);",
    good: "CREATE TABLE orders_archive (id BIGINT PRIMARY KEY);",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let mut names: Vec<String> = Vec::new();
    match &st.kind {
        Kind::CreateTable { table, columns, .. } => {
            names.push(table.name.clone());
            names.extend(columns.iter().map(|c| c.name.clone()));
        }
        Kind::CreateIndex { name, .. } => names.push(name.clone()),
        Kind::AlterTable { specs, .. } => {
            for s in specs {
                match &s.kind {
                    SpecKind::AddColumn { col, .. } | SpecKind::ModifyColumn { col, .. } => {
                        names.push(col.name.clone())
                    }
                    SpecKind::AddIndex { name: Some(n), .. }
                    | SpecKind::AddForeignKey { name: Some(n), .. }
                    | SpecKind::AddCheck { name: Some(n) } => names.push(n.clone()),
                    SpecKind::RenameColumn { to, .. } => names.push(to.clone()),
                    SpecKind::RenameTable { to } => names.push(to.name.clone()),
                    _ => {}
                }
            }
        }
        Kind::RenameTable { pairs } => names.extend(pairs.iter().map(|(_, t)| t.name.clone())),
        _ => return,
    }
    for n in names.into_iter().filter(|n| n.chars().count() > 64) {
        cx.out.report(
            &RULE,
            st.range.clone(),
            format!(
                "identifier {n:?} has {} characters; MySQL's limit is 64 (error 1059)",
                n.chars().count()
            ),
            "Use a name of at most 64 characters.".into(),
            None,
        );
    }
}
