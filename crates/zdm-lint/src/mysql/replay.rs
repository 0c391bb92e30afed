//! Replays a MySQL statement into the catalog and the session state.

use super::model::*;
use super::Cx;
use crate::schema::{Column, ConKind, Constraint, Index, QName, Table};

fn column(c: &ColumnDef) -> Column {
    Column {
        name: c.name.clone(),
        ty: c.ty.clone(),
        not_null: c.not_null,
        default: c.default.as_ref().map(|d| match d {
            Default::Literal(s) | Default::Expression(s) => s.clone(),
        }),
    }
}

fn key(cx: &Cx, q: &QName) -> (String, String) {
    (
        q.schema
            .clone()
            .unwrap_or_else(|| cx.schema.default_schema.clone()),
        q.name.clone(),
    )
}

pub(crate) fn apply(cx: &mut Cx, st: &Stmt) {
    match &st.kind {
        Kind::Set { vars } => {
            for (name, value) in vars {
                let v = value.trim_matches(|c| c == '\'' || c == '"').to_string();
                match name.as_str() {
                    "lock_wait_timeout" => cx.lock_wait_timeout = v.parse().ok(),
                    "foreign_key_checks" => {
                        cx.foreign_key_checks_off = v == "0" || v.eq_ignore_ascii_case("off")
                    }
                    "alter_algorithm" => cx.alter_algorithm = Some(v.to_uppercase()),
                    _ => {}
                }
            }
        }
        Kind::Begin => cx.in_tx = true,
        Kind::Commit => cx.in_tx = false,
        Kind::CreateTable {
            table,
            columns,
            fulltext,
            compressed,
            ..
        } => {
            let mut t = Table {
                columns: columns.iter().map(column).collect(),
                has_fulltext: *fulltext,
                compressed: *compressed,
                ..Table::default()
            };
            for c in columns.iter().filter(|c| c.primary_key) {
                t.constraints.push(Constraint {
                    name: None,
                    kind: ConKind::PrimaryKey,
                    columns: vec![c.name.clone()],
                    ref_table: None,
                    expr: None,
                    not_valid: false,
                });
            }
            cx.schema.create_table(table, t);
        }
        Kind::CreateIndex {
            table,
            name,
            columns,
            kind,
            ..
        } => {
            let k = key(cx, table);
            if *kind == IndexKind::Fulltext {
                if let Some(t) = cx.schema.table_mut(table) {
                    t.has_fulltext = true;
                }
            }
            cx.schema.add_index(
                &QName::bare(name),
                Index {
                    table: k,
                    columns: columns.clone(),
                    unique: *kind == IndexKind::Unique,
                    partial: false,
                    fulltext: *kind == IndexKind::Fulltext,
                },
            );
        }
        Kind::DropTable { tables, .. } => tables.iter().for_each(|t| cx.schema.drop_table(t)),
        Kind::DropIndex { name, .. } => {
            cx.schema.drop_index(&QName::bare(name));
        }
        Kind::RenameTable { pairs } => {
            for (from, to) in pairs {
                cx.schema.rename_table(from, &to.name);
            }
        }
        Kind::AlterTable { table, specs, .. } => {
            cx.schema.ensure_table(table);
            let instant = super::super::rules::mysql::instant_ok(cx, table, specs);
            for s in specs {
                let Some(t) = cx.schema.table_mut(table) else {
                    return;
                };
                match &s.kind {
                    SpecKind::AddColumn { col, .. } => {
                        t.columns.push(column(col));
                        if instant {
                            t.instant_changes += 1;
                        }
                    }
                    SpecKind::DropColumn { name } => {
                        t.drop_column(name);
                        if instant {
                            t.instant_changes += 1;
                        }
                    }
                    SpecKind::ModifyColumn { old, col } => {
                        if let Some(c) = t.column_mut(old) {
                            *c = column(col);
                        }
                    }
                    SpecKind::RenameColumn { from, to } => {
                        if let Some(c) = t.column_mut(from) {
                            c.name = to.clone();
                        }
                    }
                    SpecKind::AddIndex {
                        kind,
                        name,
                        columns,
                    } => {
                        if *kind == IndexKind::Fulltext {
                            t.has_fulltext = true;
                        }
                        let (kind, name, columns) = (*kind, name.clone(), columns.clone());
                        let k = key(cx, table);
                        let iname =
                            name.unwrap_or_else(|| columns.first().cloned().unwrap_or_default());
                        cx.schema.add_index(
                            &QName::bare(&iname),
                            Index {
                                table: k,
                                columns,
                                unique: matches!(kind, IndexKind::Unique | IndexKind::Primary),
                                partial: false,
                                fulltext: kind == IndexKind::Fulltext,
                            },
                        );
                    }
                    SpecKind::DropIndex { name } => {
                        let name = name.clone();
                        cx.schema.drop_index(&QName::bare(&name));
                    }
                    SpecKind::Rebuild(_) => t.instant_changes = 0,
                    SpecKind::RenameTable { to } => {
                        let to = to.name.clone();
                        cx.schema.rename_table(table, &to);
                        return;
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}
