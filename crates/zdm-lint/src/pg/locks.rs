//! PostgreSQL table lock modes taken by statements (from the "Explicit Locking" chapter of the
//! manual), to say what a statement blocks and which locks a transaction holds.

use super::model::{ActionKind, Kind, Stmt};
use crate::schema::{ConKind, QName, Schema};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum LockMode {
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

impl LockMode {
    pub fn name(self) -> &'static str {
        match self {
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    pub fn blocks(self) -> &'static str {
        match self {
            LockMode::RowExclusive => "blocks only DDL and explicit SHARE locks",
            LockMode::ShareUpdateExclusive => {
                "blocks other DDL and VACUUM; reads and writes continue"
            }
            LockMode::Share | LockMode::ShareRowExclusive => "blocks INSERT/UPDATE/DELETE",
            LockMode::Exclusive => "blocks all writes; plain reads continue",
            LockMode::AccessExclusive => "blocks every read and write",
        }
    }

    /// Whether the lock conflicts with the ROW EXCLUSIVE lock every write takes.
    pub fn blocks_writes(self) -> bool {
        self >= LockMode::Share
    }

    pub fn parse(text: &str) -> LockMode {
        let t = text.to_uppercase();
        let t = t.trim_start_matches("IN ").trim_end_matches(" MODE");
        match t {
            "ROW EXCLUSIVE" | "ROW SHARE" | "ACCESS SHARE" => LockMode::RowExclusive,
            "SHARE UPDATE EXCLUSIVE" => LockMode::ShareUpdateExclusive,
            "SHARE" => LockMode::Share,
            "SHARE ROW EXCLUSIVE" => LockMode::ShareRowExclusive,
            "EXCLUSIVE" => LockMode::Exclusive,
            _ => LockMode::AccessExclusive,
        }
    }
}

/// `"SHARE on public.orders: blocks INSERT/UPDATE/DELETE"` plus a suffix such as
/// `" for the whole index build"`.
pub(crate) fn describe(mode: LockMode, table: &QName, suffix: &str) -> String {
    format!("{} on {}: {}{}", mode.name(), table, mode.blocks(), suffix)
}

/// The table locks `st` takes, strongest first per table.
pub(crate) fn locks(st: &Stmt, schema: &Schema) -> Vec<(QName, LockMode)> {
    use LockMode::*;
    let mut out: Vec<(QName, LockMode)> = Vec::new();
    let mut add = |t: &QName, m: LockMode| {
        if t.name.is_empty() {
            return;
        }
        match out.iter_mut().find(|(q, _)| q == t) {
            Some((_, old)) => *old = (*old).max(m),
            None => out.push((t.clone(), m)),
        }
    };
    match &st.kind {
        Kind::AlterTable { table, actions } => {
            for a in actions {
                let m = match &a.kind {
                    ActionKind::AddConstraint(c) if c.kind == ConKind::ForeignKey => {
                        if let Some(r) = &c.ref_table {
                            add(r, ShareRowExclusive);
                        }
                        ShareRowExclusive
                    }
                    ActionKind::ValidateConstraint { .. } | ActionKind::Light => {
                        ShareUpdateExclusive
                    }
                    ActionKind::DetachPartition { concurrently: true }
                    | ActionKind::AttachPartition => ShareUpdateExclusive,
                    _ => AccessExclusive,
                };
                add(table, m);
            }
        }
        Kind::CreateTable {
            columns,
            constraints,
            ..
        } => {
            for r in columns.iter().filter_map(|c| c.references.as_ref()) {
                add(r, ShareRowExclusive);
            }
            for r in constraints.iter().filter_map(|c| c.ref_table.as_ref()) {
                add(r, ShareRowExclusive);
            }
        }
        Kind::CreateIndex {
            table,
            concurrently,
            ..
        } => add(
            table,
            if *concurrently {
                ShareUpdateExclusive
            } else {
                Share
            },
        ),
        Kind::DropIndex {
            names,
            concurrently,
            ..
        } => {
            for n in names {
                if let Some(i) = schema.index(n) {
                    let t = QName::new(Some(&i.table.0), &i.table.1);
                    add(
                        &t,
                        if *concurrently {
                            ShareUpdateExclusive
                        } else {
                            AccessExclusive
                        },
                    );
                }
            }
        }
        Kind::Refresh { view, concurrently } => add(
            view,
            if *concurrently {
                Exclusive
            } else {
                AccessExclusive
            },
        ),
        Kind::Truncate { tables, .. } => tables.iter().for_each(|t| add(t, AccessExclusive)),
        Kind::Drop { what, names, .. }
            if what == "TABLE" || what == "MATERIALIZED VIEW" || what == "VIEW" =>
        {
            names.iter().for_each(|t| add(t, AccessExclusive))
        }
        Kind::CreateTrigger { table } => add(table, ShareRowExclusive),
        Kind::Reindex {
            concurrently: false,
            target,
        } => {
            // The table of an index target is unknown statically; name the target.
            let name = target.split_whitespace().last().unwrap_or_default();
            add(&QName::bare(name), Share)
        }
        Kind::Dml { table, .. } => add(table, RowExclusive),
        Kind::Lock { tables, mode } => {
            let m = LockMode::parse(mode);
            tables.iter().for_each(|t| add(t, m))
        }
        _ => {}
    }
    out
}
