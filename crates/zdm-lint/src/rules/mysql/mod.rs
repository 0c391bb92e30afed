//! MySQL/MariaDB rules, one per file, plus the version tables they share (INSTANT support).

use crate::dialect::MysqlFlavor::{MariaDb, MySql};
use crate::mysql::model::{ColumnDef, Default, Kind, Spec, SpecKind, Stmt};
use crate::mysql::Cx;
use crate::rules::RuleInfo;
use crate::schema::QName;

mod add_auto_increment;
mod add_check_constraint;
mod add_column_expression_default;
mod add_column_not_instant;
mod add_column_not_null_no_default;
mod add_foreign_key;
mod add_stored_generated;
mod algorithm_copy;
mod alter_column_type;
mod assert_algorithm;
mod compat;
mod ddl_implicit_commit;
mod enum_set_change;
mod identifier_too_long;
mod index_build;
mod lock_clause;
mod rebuild_ops;
mod require_lock_wait_timeout;
mod set_not_null;

pub(crate) type Check = fn(&mut Cx, &Stmt);

pub(crate) static RULES: &[(&RuleInfo, Check)] = &[
    (&algorithm_copy::RULE, algorithm_copy::check),
    (&assert_algorithm::RULE, assert_algorithm::check),
    (&lock_clause::RULE, lock_clause::check),
    (
        &require_lock_wait_timeout::RULE,
        require_lock_wait_timeout::check,
    ),
    (
        &add_column_expression_default::RULE,
        add_column_expression_default::check,
    ),
    (&add_column_not_instant::RULE, add_column_not_instant::check),
    (
        &add_column_not_null_no_default::RULE,
        add_column_not_null_no_default::check,
    ),
    (&alter_column_type::RULE, alter_column_type::check),
    (&set_not_null::RULE, set_not_null::check),
    (&add_foreign_key::RULE, add_foreign_key::check),
    (&add_check_constraint::RULE, add_check_constraint::check),
    (&add_auto_increment::RULE, add_auto_increment::check),
    (&add_stored_generated::RULE, add_stored_generated::check),
    (&enum_set_change::RULE, enum_set_change::check),
    (&index_build::RULE, index_build::check),
    (&ddl_implicit_commit::RULE, ddl_implicit_commit::check),
    (&rebuild_ops::RULE, rebuild_ops::check),
    (&compat::DROP_COLUMN, compat::drop_column),
    (&compat::DROP_TABLE, compat::drop_table),
    (&compat::DROP_DATABASE, compat::drop_database),
    (&compat::RENAME_COLUMN, compat::rename_column),
    (&compat::RENAME_TABLE, compat::rename_table),
    (&compat::DROP_CONSTRAINT, compat::drop_constraint),
    (&compat::DROP_NOT_NULL, compat::drop_not_null),
    (&compat::DROP_OTHER, compat::drop_other),
    (&identifier_too_long::RULE, identifier_too_long::check),
];

/// The table and specs of an ALTER TABLE on a table that existed before this file.
pub(crate) fn alter_existing<'s>(cx: &Cx, st: &'s Stmt) -> Option<(&'s QName, &'s [Spec])> {
    match &st.kind {
        Kind::AlterTable { table, specs, .. } if cx.existing(table) => Some((table, specs)),
        _ => None,
    }
}

/// The columns an ALTER TABLE on an existing table adds: (table, spec, column).
pub(crate) fn added_columns<'s>(
    cx: &Cx,
    st: &'s Stmt,
) -> impl Iterator<Item = (&'s QName, &'s Spec, &'s ColumnDef)> {
    alter_existing(cx, st)
        .into_iter()
        .flat_map(|(table, specs)| {
            specs.iter().filter_map(move |s| match &s.kind {
                SpecKind::AddColumn { col, .. } => Some((table, s, col)),
                _ => None,
            })
        })
}

/// The columns an ALTER TABLE on an existing table redefines with MODIFY or CHANGE:
/// (table, spec, current name, new definition).
pub(crate) fn modified_columns<'s>(
    cx: &Cx,
    st: &'s Stmt,
) -> impl Iterator<Item = (&'s QName, &'s Spec, &'s str, &'s ColumnDef)> {
    alter_existing(cx, st)
        .into_iter()
        .flat_map(|(table, specs)| {
            specs.iter().filter_map(move |s| match &s.kind {
                SpecKind::ModifyColumn { old, col } => Some((table, s, old.as_str(), col)),
                _ => None,
            })
        })
}

/// The `locks` text of an ALTER that copies `table`: the rules that report a table copy
/// describe the lock the same way.
pub(crate) fn copy_lock(table: &QName) -> String {
    format!("SHARED on {table} (COPY): blocks writes for the whole copy")
}

/// Why `ADD COLUMN col` cannot be INSTANT on the target server (None = it can).
pub(crate) fn add_column_not_instant(
    cx: &Cx,
    table: &QName,
    col: &ColumnDef,
    position: bool,
) -> Option<String> {
    let v = cx.out.opts.mysql_version;
    let (first_ok, anywhere_ok) = match v.flavor {
        MySql => (v.at_least(MySql, 8, 0, 12), v.at_least(MySql, 8, 0, 29)),
        MariaDb => (v.at_least(MariaDb, 10, 3, 2), v.at_least(MariaDb, 10, 4, 0)),
    };
    if !first_ok {
        return Some(format!(
            "{v} has no INSTANT ADD COLUMN (MySQL 8.0.12+ / MariaDB 10.3.2+)"
        ));
    }
    if position && !anywhere_ok {
        return Some(format!("on {v} only a column added last can be INSTANT (FIRST/AFTER needs MySQL 8.0.29+ / MariaDB 10.4+)"));
    }
    if col.auto_increment
        || col.generated_stored
        || matches!(col.default, Some(Default::Expression(_)))
    {
        return Some(
            "AUTO_INCREMENT, STORED generated columns and expression defaults need a table rebuild"
                .into(),
        );
    }
    if let Some(t) = cx.schema.table(table) {
        if t.compressed {
            return Some(
                "the table is ROW_FORMAT=COMPRESSED, which does not support INSTANT".into(),
            );
        }
        if t.has_fulltext {
            return Some(
                "the table has a FULLTEXT index (FTS_DOC_ID), which prevents INSTANT ADD COLUMN"
                    .into(),
            );
        }
        let limit = if v.flavor == MySql && v.at_least(MySql, 9, 1, 0) {
            255
        } else {
            64
        };
        if v.flavor == MySql && v.at_least(MySql, 8, 0, 29) && t.instant_changes >= limit {
            return Some(format!("the table reached the limit of {limit} instant ADD/DROP COLUMNs (row versions); the next one rebuilds"));
        }
    }
    None
}

/// Whether every action of the ALTER can run with ALGORITHM=INSTANT on the target server.
pub(crate) fn instant_ok(cx: &Cx, table: &QName, specs: &[Spec]) -> bool {
    let v = cx.out.opts.mysql_version;
    specs.iter().all(|s| match &s.kind {
        SpecKind::AddColumn { col, position } => {
            add_column_not_instant(cx, table, col, *position).is_none()
        }
        SpecKind::DropColumn { .. } => v.at_least(MySql, 8, 0, 29) || v.at_least(MariaDb, 10, 4, 0),
        SpecKind::RenameColumn { .. } => {
            v.at_least(MySql, 8, 0, 28) || v.at_least(MariaDb, 10, 3, 0)
        }
        SpecKind::AlterColumnDefault { .. }
        | SpecKind::RenameTable { .. }
        | SpecKind::RenameIndex
        | SpecKind::Option => true,
        SpecKind::Algorithm(_) | SpecKind::Lock(_) => true,
        SpecKind::ModifyColumn { old, col } => enum_set_change::is_append(cx, table, old, col),
        _ => false,
    })
}

/// The clause to pin for this ALTER: INSTANT when every action supports it, else
/// INPLACE with LOCK=NONE.
pub(crate) fn pin_clause(cx: &Cx, table: &QName, specs: &[Spec]) -> &'static str {
    if instant_ok(cx, table, specs) {
        "ALGORITHM=INSTANT"
    } else {
        "ALGORITHM=INPLACE, LOCK=NONE"
    }
}

/// The statement with `clause` appended (for help texts).
pub(crate) fn with_clause(cx: &Cx, st: &Stmt, clause: &str) -> String {
    format!(
        "{}, {clause};",
        cx.out.slice(&st.range).trim().trim_end_matches(';')
    )
}
