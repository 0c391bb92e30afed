use crate::finding::Severity;
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "schema-qualified",
    engine: Engine::Postgres,
    severity: Severity::Info,
    default_enabled: false,
    summary: "a table created or altered without a schema name (opt-in)",
    why: "An unqualified name resolves through search_path, which can differ between the migration session and the application.",
    versions: "",
    bad: "CREATE TABLE orders (id bigint);",
    good: "CREATE TABLE public.orders (id bigint);",
    example_env: "enable=schema-qualified",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let table = match &st.kind {
        Kind::CreateTable { .. } | Kind::CreateTableAs { .. }
            if cx
                .out
                .slice(&st.range)
                .to_lowercase()
                .split_whitespace()
                .nth(1)
                .is_some_and(|w| w.starts_with("temp")) =>
        {
            return
        }
        Kind::CreateTable { table, .. }
        | Kind::AlterTable { table, .. }
        | Kind::CreateIndex { table, .. }
        | Kind::CreateTableAs { table } => table,
        Kind::Drop { what, names, .. } if what == "TABLE" && !names.is_empty() => &names[0],
        _ => return,
    };
    if table.schema.is_some() || table.name.is_empty() {
        return;
    }
    cx.out.report(
        &RULE,
        st.range.clone(),
        format!("{table} is not schema-qualified: it resolves through search_path"),
        format!(
            "Qualify it: {}.{}",
            crate::schema::pg_ident(&cx.schema.default_schema),
            crate::schema::pg_ident(&table.name)
        ),
        None,
    );
}
