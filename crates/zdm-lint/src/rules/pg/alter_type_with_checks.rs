use crate::finding::Severity;
use crate::pg::model::{ActionKind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::pg_ident;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-alter-type-with-checks",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "ALTER COLUMN TYPE on a column referenced by CHECK constraints",
    why: "Every CHECK on the column is re-verified against all rows under ACCESS EXCLUSIVE, even when the type change itself needs no rewrite.",
    versions: "",
    bad: "CREATE TABLE items (id bigint PRIMARY KEY, code varchar(10) CHECK (code <> ''));\n---\nALTER TABLE items ALTER COLUMN code TYPE varchar(20);",
    good: "CREATE TABLE items (id bigint PRIMARY KEY, code varchar(10));\n---\nALTER TABLE items ALTER COLUMN code TYPE varchar(20);",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Some((table, actions)) = super::alter_existing(cx, st) else {
        return;
    };
    for a in actions {
        let ActionKind::AlterType { column, .. } = &a.kind else {
            continue;
        };
        let checks: Vec<String> = cx
            .schema
            .table(table)
            .map(|t| {
                t.checks_on(column)
                    .iter()
                    .map(|c| c.name.clone().unwrap_or_else(|| "<check>".into()))
                    .collect()
            })
            .unwrap_or_default();
        let inline_check = cx
            .schema
            .table(table)
            .is_some_and(|t| t.checks_on(column).iter().any(|c| c.name.is_none()));
        if checks.is_empty() && !inline_check {
            continue;
        }
        let t = table.pg();
        cx.out.report(
            &RULE,
            a.range.clone(),
            format!("{table}.{column} is referenced by CHECK constraint(s) {}: each is re-validated against every row under ACCESS EXCLUSIVE", checks.join(", ")),
            format!(
                "Drop the checks, change the type, then re-add them NOT VALID and validate later:\n  ALTER TABLE {t} DROP CONSTRAINT {};\n  -- change the type\n  ALTER TABLE {t} ADD CONSTRAINT … CHECK (…) NOT VALID;\n  ALTER TABLE {t} VALIDATE CONSTRAINT …;  -- next migration",
                checks.first().map(|c| pg_ident(c)).unwrap_or_default()
            ),
            None,
        );
    }
}
