use super::{cols, con_name};
use crate::finding::Severity;
use crate::pg::locks::{describe, LockMode};
use crate::pg::model::{ActionKind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::ConKind;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-add-primary-key",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "ADD PRIMARY KEY on an existing table without USING INDEX",
    why: "ADD PRIMARY KEY builds a unique index under ACCESS EXCLUSIVE and, for columns not already NOT NULL, scans the table to set NOT NULL. With USING INDEX on a concurrently built index and columns already NOT NULL it is a catalog change. USING INDEX with an index the replayed migrations never created is not flagged (its columns are unknown).",
    versions: "",
    bad: "ALTER TABLE legacy ADD PRIMARY KEY (id);",
    good: "-- zdm:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY legacy_pkey ON legacy (id);\n-- next migrations: make id NOT NULL safely (see pg-set-not-null), then\n-- ALTER TABLE legacy ADD CONSTRAINT legacy_pkey PRIMARY KEY USING INDEX legacy_pkey;",
    example_env: "no-transaction",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Some((table, actions)) = super::alter_existing(cx, st) else {
        return;
    };
    for a in actions {
        let (columns, name, using) = match &a.kind {
            ActionKind::AddConstraint(c) if c.kind == ConKind::PrimaryKey => (
                c.columns.clone(),
                con_name(&c.name, &format!("{}_pkey", table.name)),
                c.using_index.clone(),
            ),
            ActionKind::AddColumn(c) if c.primary_key => (
                vec![c.name.clone()],
                con_name(&None, &format!("{}_pkey", table.name)),
                None,
            ),
            _ => continue,
        };
        // USING INDEX: the columns are the index's. An index the replayed migrations never
        // created means the table's history is unknown too: the documented safe pattern is
        // not flagged on guesswork.
        let columns = match &using {
            Some(i) => match cx.schema.index(&crate::schema::QName::bare(i)) {
                Some(idx) => idx.columns.clone(),
                None => continue,
            },
            None => columns,
        };
        let t = cx.schema.table(table);
        let nullable: Vec<String> = columns
            .iter()
            .filter(|c| !t.and_then(|t| t.column(c)).is_some_and(|c| c.not_null))
            .cloned()
            .collect();
        // USING INDEX over columns already NOT NULL: only a catalog change.
        if using.is_some() && nullable.is_empty() {
            continue;
        }
        let mut problems = Vec::new();
        if using.is_none() {
            problems.push("builds the primary key index".to_string());
        }
        if !nullable.is_empty() {
            let known = t.is_some();
            problems.push(if known {
                format!("scans the table to make ({}) NOT NULL", nullable.join(", "))
            } else {
                format!("scans the table to make ({}) NOT NULL unless they already are (unknown to the linter)", nullable.join(", "))
            });
        }
        let tq = table.pg();
        cx.out.report(
            &RULE,
            a.range.clone(),
            format!("ADD PRIMARY KEY on {table} {} under ACCESS EXCLUSIVE", problems.join(" and ")),
            format!(
                "Build the index concurrently, make the columns NOT NULL without a long lock (see pg-set-not-null), then attach:\n  CREATE UNIQUE INDEX CONCURRENTLY {name} ON {tq} ({});  -- `-- zdm:no-transaction` migration\n  ALTER TABLE {tq} ADD CONSTRAINT {name} PRIMARY KEY USING INDEX {name};",
                cols(&columns)
            ),
            Some(describe(LockMode::AccessExclusive, table, " for the index build and NOT NULL scan")),
        );
    }
}
