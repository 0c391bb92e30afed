use crate::finding::Severity;
use crate::pg::model::{ActionKind, Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "identifier-too-long",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "an identifier longer than 63 bytes",
    why: "PostgreSQL silently truncates identifiers to 63 bytes (NAMEDATALEN - 1): two long names can collide, and later statements using the full name refer to an object that does not exist under that name.",
    versions: "",
    bad: "CREATE TABLE orders_with_a_name_that_is_much_too_long_for_postgresql_to_keep_whole (id bigint);",
    good: "CREATE TABLE orders_archive (id bigint);",
    example_env: "",
};

const MAX: usize = 63;

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let mut names: Vec<String> = Vec::new();
    match &st.kind {
        Kind::CreateTable {
            table,
            columns,
            constraints,
            ..
        } => {
            names.push(table.name.clone());
            names.extend(columns.iter().map(|c| c.name.clone()));
            names.extend(constraints.iter().filter_map(|c| c.name.clone()));
        }
        Kind::CreateTableAs { table } => names.push(table.name.clone()),
        Kind::CreateIndex { name: Some(n), .. } => names.push(n.name.clone()),
        Kind::AlterTable { actions, .. } => {
            for a in actions {
                match &a.kind {
                    ActionKind::AddColumn(c) => names.push(c.name.clone()),
                    ActionKind::AddConstraint(c) => names.extend(c.name.clone()),
                    ActionKind::RenameColumn { to, .. } | ActionKind::RenameTable { to } => {
                        names.push(to.clone())
                    }
                    _ => {}
                }
            }
        }
        Kind::Other {
            create: Some(q), ..
        } => names.push(q.name.clone()),
        _ => return,
    }
    for n in names.into_iter().filter(|n| n.len() > MAX) {
        let cut: String = {
            let mut end = MAX;
            while !n.is_char_boundary(end) {
                end -= 1;
            }
            n[..end].to_string()
        };
        cx.out.report(
            &RULE,
            st.range.clone(),
            format!(
                "identifier {n:?} is {} bytes; PostgreSQL silently truncates it to {cut:?}",
                n.len()
            ),
            format!("Use a name of at most {MAX} bytes."),
            None,
        );
    }
}
