use super::cols;
use crate::finding::Severity;
use crate::pg::model::{ActionKind, Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::{pg_ident, QName};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-fk-missing-index",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "FOREIGN KEY columns not covered by a leading, non-partial index",
    why: "Without an index on the referencing columns, every DELETE or key UPDATE on the parent scans the child table (under the child's row locks), and ON DELETE CASCADE becomes a sequential scan per parent row.",
    versions: "",
    bad: "CREATE TABLE order_notes (id bigint PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders (id));",
    good: "CREATE TABLE order_notes (id bigint PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders (id));\nCREATE INDEX order_notes_order_id_idx ON order_notes (order_id);",
    example_env: "",
};

/// (columns, where) of each foreign key in a statement.
type FkSites = Vec<(Vec<String>, std::ops::Range<usize>)>;

/// FKs are checked at the end of the file, when the indexes created after them are known.
pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let (table, fks): (&QName, FkSites) = match &st.kind {
        Kind::CreateTable {
            table,
            columns,
            constraints,
            ..
        } => (
            table,
            columns
                .iter()
                .filter(|c| c.references.is_some())
                .map(|c| (vec![c.name.clone()], c.range.clone()))
                .chain(
                    constraints
                        .iter()
                        .filter(|c| c.ref_table.is_some())
                        .map(|c| (c.columns.clone(), c.range.clone())),
                )
                .collect(),
        ),
        Kind::AlterTable { table, actions } => (
            table,
            actions
                .iter()
                .filter_map(|a| match &a.kind {
                    ActionKind::AddConstraint(c) if c.ref_table.is_some() => {
                        Some((c.columns.clone(), a.range.clone()))
                    }
                    ActionKind::AddColumn(c) if c.references.is_some() => {
                        Some((vec![c.name.clone()], a.range.clone()))
                    }
                    _ => None,
                })
                .collect(),
        ),
        _ => return,
    };
    for (columns, range) in fks {
        if !columns.is_empty() {
            cx.pending_fks.push((table.clone(), columns, range));
        }
    }
}

pub(crate) fn finish(cx: &mut Cx) {
    let pending = std::mem::take(&mut cx.pending_fks);
    for (table, columns, range) in pending {
        // Only tables whose whole history was replayed: an index created outside the
        // migrations (or before the baseline) is invisible here.
        if cx.schema.table(&table).is_none_or(|t| !t.replayed())
            || cx.schema.has_leading_index(&table, &columns)
        {
            continue;
        }
        let idx = pg_ident(&format!("{}_{}_idx", table.name, columns.join("_")));
        let conc = if cx.existing(&table) {
            "CONCURRENTLY "
        } else {
            ""
        };
        cx.out.report(
            &RULE,
            range,
            format!("foreign key columns ({}) of {table} have no index leading with them: deletes and key updates on the parent scan {table}", columns.join(", ")),
            format!("Index the referencing columns{}:\n  CREATE INDEX {conc}{idx} ON {} ({});", if conc.is_empty() { "" } else { " (in a `-- zdm:no-transaction` migration)" }, table.pg(), cols(&columns)),
            None,
        );
    }
}
