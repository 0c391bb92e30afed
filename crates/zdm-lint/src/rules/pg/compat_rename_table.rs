use crate::finding::Severity;
use crate::pg::model::{ActionKind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::pg_ident;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "compat-rename-table",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "RENAME an existing table",
    why: "Running code that uses the old table name fails from the moment the rename commits.",
    versions: "",
    bad: "ALTER TABLE customers RENAME TO clients;",
    good: "ALTER TABLE customers RENAME TO clients;\nCREATE VIEW customers AS SELECT * FROM clients;  -- until no code uses the old name",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Some((table, actions)) = super::alter_existing(cx, st) else {
        return;
    };
    for a in actions {
        let ActionKind::RenameTable { to } = &a.kind else {
            continue;
        };
        // A view with the old name created later in the file keeps old code working.
        let rest = cx.out.text.get(st.range.end..).unwrap_or("").to_lowercase();
        if rest.contains(&format!("create view {}", table.name.to_lowercase()))
            || rest.contains(&format!(
                "create or replace view {}",
                table.name.to_lowercase()
            ))
        {
            continue;
        }
        let new = crate::schema::QName::new(table.schema.as_deref(), to);
        cx.out.report(
            &RULE,
            a.range.clone(),
            format!("renaming {table} to {to} breaks running code that still uses {}", table.name),
            format!("Keep the old name working during the transition:\n  ALTER TABLE {} RENAME TO {};\n  CREATE VIEW {} AS SELECT * FROM {};", table.pg(), pg_ident(to), table.pg(), new.pg()),
            None,
        );
    }
}
