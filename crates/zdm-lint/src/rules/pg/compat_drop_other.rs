use crate::finding::Severity;
use crate::pg::model::{ActionKind, Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{report_compat_other, CompatHits, Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-drop-other",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "DROP/REPLACE of views, functions, types, sequences, extensions, triggers, policies; DROP/SET DEFAULT; REVOKE; SET SCHEMA; NO INHERIT; DISABLE TRIGGER; REPLICA IDENTITY",
    why: "Each removes or changes something running code (or replication) may depend on: a view it queries, a function it calls, a default it relies on when inserting, a privilege, a trigger keeping data consistent.",
    versions: "",
    bad: "DROP VIEW active_users;",
    good: "-- expand/contract: stop using the view in code first, drop it in a later release",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let hits: CompatHits = match &st.kind {
        Kind::Drop { what, names, .. }
            if !matches!(what.as_str(), "TABLE" | "SCHEMA" | "DATABASE" | "INDEX") =>
        {
            let list = names
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            vec![(st.range.clone(), format!("DROP {what} {list}"))]
        }
        Kind::OtherCompat { what } => vec![(st.range.clone(), what.clone())],
        Kind::AlterTable { table, actions } if cx.existing(table) => actions
            .iter()
            .filter_map(|a| match &a.kind {
                ActionKind::DropDefault { column } => {
                    Some((a.range.clone(), format!("DROP DEFAULT on {table}.{column}")))
                }
                ActionKind::SetDefault { column }
                    if cx
                        .schema
                        .table(table)
                        .and_then(|t| t.column(column))
                        .is_some_and(|c| c.default.is_some()) =>
                {
                    Some((
                        a.range.clone(),
                        format!("SET DEFAULT replacing the existing default of {table}.{column}"),
                    ))
                }
                ActionKind::CompatOther { what } => {
                    Some((a.range.clone(), format!("{what} on {table}")))
                }
                ActionKind::ColumnOther {
                    column,
                    what: w @ ("DROP EXPRESSION" | "SET EXPRESSION"),
                } => Some((a.range.clone(), format!("{w} on {table}.{column}"))),
                _ => None,
            })
            .collect(),
        _ => return,
    };
    report_compat_other(
        &mut cx.out,
        &RULE,
        hits,
        "Expand/contract: deploy code that no longer depends on it first, then change or drop it in a later release (CREATE OR REPLACE: keep the old signature and behaviour compatible).",
    );
}
