//! Replays a statement into the catalog and the transaction state after the rules ran.

use super::locks::{locks, LockMode};
use super::model::*;
use super::Cx;
use crate::schema::{Column, ConKind, Constraint, Index, QName, Table};

fn column(c: &ColumnDef) -> Column {
    Column {
        name: c.name.clone(),
        ty: c.ty.clone(),
        not_null: c.not_null,
        default: c
            .default
            .as_ref()
            .filter(|d| !d.is_null)
            .map(|d| d.text.clone()),
    }
}

fn constraint(c: &ConstraintDef) -> Constraint {
    Constraint {
        name: c.name.clone(),
        kind: c.kind,
        columns: c.columns.clone(),
        ref_table: c.ref_table.clone(),
        expr: c.expr.clone(),
        not_valid: c.not_valid,
    }
}

/// Constraints written inline on a column (PRIMARY KEY, UNIQUE, REFERENCES).
fn inline_constraints(c: &ColumnDef) -> Vec<Constraint> {
    let mk = |kind, ref_table: Option<QName>| Constraint {
        name: None,
        kind,
        columns: vec![c.name.clone()],
        ref_table,
        expr: None,
        not_valid: false,
    };
    let mut v = Vec::new();
    if c.primary_key {
        v.push(mk(ConKind::PrimaryKey, None));
    }
    if c.unique {
        v.push(mk(ConKind::Unique, None));
    }
    if c.check {
        v.push(mk(ConKind::Check, None));
    }
    if let Some(r) = &c.references {
        v.push(mk(ConKind::ForeignKey, Some(r.clone())));
    }
    v
}

pub(crate) fn apply(cx: &mut Cx, st: &Stmt) {
    if let Some((name, volatile)) = &st.function {
        cx.schema.define_function(name, *volatile);
    }
    // Transaction bookkeeping first: which locks this statement leaves held.
    for (table, mode) in locks(st, cx.schema) {
        if mode >= LockMode::ShareRowExclusive && cx.existing(&table) && cx.tx.active() {
            let stronger = cx.tx.strong.as_ref().is_none_or(|(_, m)| mode > *m);
            if stronger {
                cx.tx.strong = Some((table, mode));
            }
        }
    }
    match &st.kind {
        Kind::Begin => {
            cx.tx.explicit = true;
            cx.tx.begin_at = Some(st.range.clone());
        }
        Kind::Commit | Kind::Rollback => {
            cx.tx.explicit = false;
            cx.tx.begin_at = None;
            // zdm's own transaction is over too once the file commits it.
            cx.tx.implied = false;
            cx.tx.strong = None;
            cx.tx.not_valid.clear();
            cx.tx.hold_reported = false;
        }
        Kind::Set { name, value, .. } => {
            let off = value.trim() == "0" || value.trim().eq_ignore_ascii_case("default");
            match name.as_str() {
                "lock_timeout" => cx.lock_timeout = !off,
                "statement_timeout" => cx.statement_timeout = !off,
                _ => {}
            }
        }
        Kind::Reset { name } => match name.as_str() {
            "lock_timeout" => cx.lock_timeout = false,
            "statement_timeout" => cx.statement_timeout = false,
            "all" => {
                cx.lock_timeout = false;
                cx.statement_timeout = false;
            }
            _ => {}
        },
        Kind::CreateTable {
            table,
            columns,
            constraints,
            ..
        } => {
            let mut t = Table {
                columns: columns.iter().map(column).collect(),
                constraints: constraints.iter().map(constraint).collect(),
                ..Table::default()
            };
            t.constraints
                .extend(columns.iter().flat_map(inline_constraints));
            for c in &constraints
                .iter()
                .filter(|c| c.kind == ConKind::PrimaryKey)
                .flat_map(|c| c.columns.clone())
                .collect::<Vec<_>>()
            {
                if let Some(col) = t.column_mut(c) {
                    col.not_null = true;
                }
            }
            cx.schema.create_table(table, t);
        }
        Kind::CreateTableAs { table } => cx.schema.create_table(table, Table::default()),
        Kind::Other {
            create: Some(q), ..
        } => {
            // Sequences, views, types…: not tables, but record nothing for them.
            let _ = q;
        }
        Kind::CreateIndex {
            name,
            table,
            unique,
            columns,
            partial,
            ..
        } => {
            let key = cx.schema.table(table).map(|t| {
                (
                    t.name.schema.clone().unwrap_or_default(),
                    t.name.name.clone(),
                )
            });
            let key = key.unwrap_or_else(|| {
                (
                    table
                        .schema
                        .clone()
                        .unwrap_or_else(|| cx.schema.default_schema.clone()),
                    table.name.clone(),
                )
            });
            let iname = name.clone().unwrap_or_else(|| {
                QName::bare(&format!("{}_{}_idx", table.name, columns.join("_")))
            });
            cx.schema.add_index(
                &iname,
                Index {
                    table: key,
                    columns: columns.clone(),
                    unique: *unique,
                    partial: *partial,
                    fulltext: false,
                },
            );
        }
        Kind::DropIndex { names, .. } => {
            for n in names {
                cx.schema.drop_index(n);
            }
        }
        Kind::Drop { what, names, .. } if what == "TABLE" => {
            for n in names {
                cx.schema.drop_table(n);
            }
        }
        Kind::AlterTable { table, actions } => alter(cx, table, actions),
        _ => {}
    }
}

fn alter(cx: &mut Cx, table: &QName, actions: &[Action]) {
    let in_tx = cx.tx.active();
    if !table.name.is_empty() {
        cx.schema.ensure_table(table);
    }
    for a in actions {
        if let ActionKind::AddConstraint(c) = &a.kind {
            if c.not_valid && in_tx {
                if let Some(n) = &c.name {
                    cx.tx.not_valid.push((table.clone(), n.clone()));
                }
            }
        }
        if let ActionKind::RenameTable { to } = &a.kind {
            cx.schema.rename_table(table, to);
            continue;
        }
        let Some(t) = cx.schema.table_mut(table) else {
            continue;
        };
        match &a.kind {
            ActionKind::AddColumn(c) => {
                t.columns.push(column(c));
                t.constraints.extend(inline_constraints(c));
            }
            ActionKind::DropColumn { name } => t.drop_column(name),
            ActionKind::AlterType { column, ty, .. } => {
                if let Some(c) = t.column_mut(column) {
                    c.ty = Some(ty.clone());
                }
            }
            ActionKind::SetNotNull { column } => {
                if let Some(c) = t.column_mut(column) {
                    c.not_null = true;
                }
            }
            ActionKind::DropNotNull { column } => {
                if let Some(c) = t.column_mut(column) {
                    c.not_null = false;
                }
            }
            ActionKind::AddConstraint(c) => {
                if c.kind == ConKind::PrimaryKey {
                    for col in &c.columns {
                        if let Some(x) = t.column_mut(col) {
                            x.not_null = true;
                        }
                    }
                }
                if c.kind == ConKind::NotNull && !c.not_valid {
                    for col in &c.columns {
                        if let Some(x) = t.column_mut(col) {
                            x.not_null = true;
                        }
                    }
                }
                t.constraints.push(constraint(c));
            }
            ActionKind::DropConstraint { name } => {
                t.constraints.retain(|c| c.name.as_deref() != Some(name))
            }
            ActionKind::ValidateConstraint { name } => {
                if let Some(c) = t
                    .constraints
                    .iter_mut()
                    .find(|c| c.name.as_deref() == Some(name))
                {
                    c.not_valid = false;
                } else {
                    // Added by a migration the linter has not seen: remember it as validated
                    // (its definition is unknown; set_not_null matches it by name).
                    t.constraints.push(Constraint {
                        name: Some(name.clone()),
                        kind: ConKind::Check,
                        columns: vec![],
                        ref_table: None,
                        expr: None,
                        not_valid: false,
                    });
                }
            }
            ActionKind::RenameColumn { from, to } => {
                if let Some(c) = t.column_mut(from) {
                    c.name = to.clone();
                }
                for c in &mut t.constraints {
                    for x in &mut c.columns {
                        if x == from {
                            *x = to.clone();
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
