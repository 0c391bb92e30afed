use crate::finding::Severity;
use crate::pg::model::{ActionKind, Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "idempotent-ddl",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "DDL without IF [NOT] EXISTS in a file that does not run in a transaction",
    why: "Without a transaction a failure leaves the earlier statements applied; re-running the migration then fails on the objects that already exist. Guards make a retry safe.",
    versions: "",
    bad: "-- zdm:no-transaction\nCREATE INDEX CONCURRENTLY orders_user_id_idx ON orders (user_id);",
    good: "-- zdm:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_user_id_idx ON orders (user_id);",
    example_env: "no-transaction",
};

fn normalized(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    if cx.tx.active() {
        return;
    }
    let text = normalized(cx.out.slice(&st.range));
    let mut hits: Vec<(std::ops::Range<usize>, &str, &str)> = Vec::new();
    match &st.kind {
        Kind::CreateTable { .. }
            if text.starts_with("create temp") && text.contains("on commit drop") => {}
        Kind::CreateTable { .. } if !text.contains("if not exists") => hits.push((
            st.range.clone(),
            "CREATE TABLE",
            "CREATE TABLE IF NOT EXISTS",
        )),
        // An unnamed index cannot take IF NOT EXISTS; a re-run adds a duplicate, not an error.
        Kind::CreateIndex {
            if_not_exists: false,
            name: Some(_),
            ..
        } => hits.push((
            st.range.clone(),
            "CREATE INDEX",
            "CREATE INDEX … IF NOT EXISTS <name>",
        )),
        Kind::DropIndex {
            if_exists: false, ..
        } => hits.push((st.range.clone(), "DROP INDEX", "DROP INDEX … IF EXISTS")),
        Kind::Drop {
            if_exists: false,
            what,
            ..
        } if what == "TABLE"
            || what == "SCHEMA"
            || what == "VIEW"
            || what == "TYPE"
            || what == "SEQUENCE" =>
        {
            hits.push((st.range.clone(), "DROP", "DROP … IF EXISTS"))
        }
        Kind::AlterTable { actions, .. } => {
            for a in actions {
                let at = normalized(cx.out.slice(&a.range));
                match &a.kind {
                    ActionKind::AddColumn(_) if !at.contains("if not exists") => {
                        hits.push((a.range.clone(), "ADD COLUMN", "ADD COLUMN IF NOT EXISTS"))
                    }
                    ActionKind::DropColumn { .. } if !at.contains("if exists") => {
                        hits.push((a.range.clone(), "DROP COLUMN", "DROP COLUMN IF EXISTS"))
                    }
                    ActionKind::DropConstraint { .. } if !at.contains("if exists") => hits.push((
                        a.range.clone(),
                        "DROP CONSTRAINT",
                        "DROP CONSTRAINT IF EXISTS",
                    )),
                    ActionKind::DropConstraint { name } => {
                        cx.guarded_constraints.insert(name.to_lowercase());
                    }
                    // Safe when a DROP CONSTRAINT IF EXISTS of the same name came first (earlier
                    // in the file or in this statement) and nothing re-added it since: a second
                    // ADD after one guard fails on a re-run. Tracked as the file is walked, so
                    // the rule stays linear in the file's length.
                    ActionKind::AddConstraint(c) => {
                        if let Some(n) = &c.name {
                            if !cx.guarded_constraints.remove(&n.to_lowercase()) {
                                hits.push((a.range.clone(), "ADD CONSTRAINT", "ALTER TABLE … DROP CONSTRAINT IF EXISTS <name>, ADD CONSTRAINT <name> …"))
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    for (range, what, fix) in hits {
        cx.out.report(
            &RULE,
            range,
            format!("{what} is not idempotent and this file runs without a transaction: a retry after a partial failure fails here"),
            format!("Guard it so a re-run is safe: {fix}"),
            None,
        );
    }
}
