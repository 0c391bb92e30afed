//! PostgreSQL rules, one per file. Each has `RULE` (metadata, examples) and `check`, called
//! for every statement before the statement is replayed into the catalog.

use crate::pg::locks::{locks, LockMode};
use crate::pg::model::{Action, ActionKind, ColumnDef, Kind, Stmt};
use crate::pg::Cx;
use crate::rules::RuleInfo;
use crate::schema::QName;

mod add_column_required;
mod add_column_rewrite;
mod add_column_volatile_default;
mod add_exclusion_constraint;
mod add_primary_key;
mod add_unique_constraint;
mod alter_type_rewrite;
mod alter_type_with_checks;
mod compat_drop_column;
mod compat_drop_constraint;
mod compat_drop_database;
mod compat_drop_not_null;
mod compat_drop_other;
mod compat_drop_schema;
mod compat_drop_table;
mod compat_enum_rename;
mod compat_rename_column;
mod compat_rename_object;
mod compat_rename_table;
mod concurrently_in_transaction;
mod constraint_not_valid;
mod detach_partition_not_concurrent;
mod domain_constraint;
mod enum_add_value;
mod fk_locks_parent;
mod fk_missing_index;
mod hold_strong_lock;
mod idempotent_ddl;
mod identifier_too_long;
mod index_corruption_14;
mod index_create_not_concurrent;
mod index_drop_not_concurrent;
mod index_too_wide;
mod multiple_alters;
mod refresh_matview;
mod reindex_not_concurrent;
mod require_lock_timeout;
mod require_statement_timeout;
mod schema_qualified;
mod set_not_null;
mod table_rewrite;
mod truncate_cascade;
mod tx_nesting;
mod tx_uncommitted;
mod type_hygiene;
mod vacuum_full_cluster;
mod validate_same_tx;

pub(crate) type Check = fn(&mut Cx, &Stmt);

pub(crate) static RULES: &[(&RuleInfo, Check)] = &[
    (
        &index_create_not_concurrent::RULE,
        index_create_not_concurrent::check,
    ),
    (
        &index_drop_not_concurrent::RULE,
        index_drop_not_concurrent::check,
    ),
    (&reindex_not_concurrent::RULE, reindex_not_concurrent::check),
    (
        &detach_partition_not_concurrent::RULE,
        detach_partition_not_concurrent::check,
    ),
    (
        &concurrently_in_transaction::RULE,
        concurrently_in_transaction::check,
    ),
    (&index_corruption_14::RULE, index_corruption_14::check),
    (&constraint_not_valid::RULE, constraint_not_valid::check),
    (&validate_same_tx::RULE, validate_same_tx::check),
    (&fk_locks_parent::RULE, fk_locks_parent::check),
    (&fk_missing_index::RULE, fk_missing_index::check),
    (&set_not_null::RULE, set_not_null::check),
    (
        &add_column_volatile_default::RULE,
        add_column_volatile_default::check,
    ),
    (&add_column_rewrite::RULE, add_column_rewrite::check),
    (&add_column_required::RULE, add_column_required::check),
    (&alter_type_rewrite::RULE, alter_type_rewrite::check),
    (&alter_type_with_checks::RULE, alter_type_with_checks::check),
    (&add_unique_constraint::RULE, add_unique_constraint::check),
    (&add_primary_key::RULE, add_primary_key::check),
    (
        &add_exclusion_constraint::RULE,
        add_exclusion_constraint::check,
    ),
    (&table_rewrite::RULE, table_rewrite::check),
    (&require_lock_timeout::RULE, require_lock_timeout::check),
    (
        &require_statement_timeout::RULE,
        require_statement_timeout::check,
    ),
    (&hold_strong_lock::RULE, hold_strong_lock::check),
    (&vacuum_full_cluster::RULE, vacuum_full_cluster::check),
    (&refresh_matview::RULE, refresh_matview::check),
    (&domain_constraint::RULE, domain_constraint::check),
    (&enum_add_value::RULE, enum_add_value::check),
    (&multiple_alters::RULE, multiple_alters::check),
    (&truncate_cascade::RULE, truncate_cascade::check),
    (&compat_drop_column::RULE, compat_drop_column::check),
    (&compat_drop_table::RULE, compat_drop_table::check),
    (&compat_drop_schema::RULE, compat_drop_schema::check),
    (&compat_drop_database::RULE, compat_drop_database::check),
    (&compat_rename_column::RULE, compat_rename_column::check),
    (&compat_rename_table::RULE, compat_rename_table::check),
    (&compat_rename_object::RULE, compat_rename_object::check),
    (&compat_drop_not_null::RULE, compat_drop_not_null::check),
    (&compat_drop_constraint::RULE, compat_drop_constraint::check),
    (&compat_enum_rename::RULE, compat_enum_rename::check),
    (&compat_drop_other::RULE, compat_drop_other::check),
    (&tx_nesting::RULE, tx_nesting::check),
    (&tx_uncommitted::RULE, tx_uncommitted::check),
    (&idempotent_ddl::RULE, idempotent_ddl::check),
    (&type_hygiene::RULE, type_hygiene::check),
    (&identifier_too_long::RULE, identifier_too_long::check),
    (&schema_qualified::RULE, schema_qualified::check),
    (&index_too_wide::RULE, index_too_wide::check),
];

pub(crate) use concurrently_in_transaction::implied as implied_no_transaction;

/// Checks that need the whole file.
pub(crate) fn finish(cx: &mut Cx) {
    tx_uncommitted::finish(cx);
    multiple_alters::finish(cx);
    fk_missing_index::finish(cx);
}

/// The table and actions of an ALTER TABLE on a table that existed before this file.
pub(crate) fn alter_existing<'s>(cx: &Cx, st: &'s Stmt) -> Option<(&'s QName, &'s [Action])> {
    match &st.kind {
        Kind::AlterTable { table, actions } if cx.existing(table) => Some((table, actions)),
        _ => None,
    }
}

/// The columns an ALTER TABLE on a pre-existing table adds: (table, action, column).
pub(crate) fn added_columns<'s>(
    cx: &Cx,
    st: &'s Stmt,
) -> impl Iterator<Item = (&'s QName, &'s Action, &'s ColumnDef)> {
    alter_existing(cx, st)
        .into_iter()
        .flat_map(|(table, actions)| {
            actions.iter().filter_map(move |a| match &a.kind {
                ActionKind::AddColumn(col) => Some((table, a, col)),
                _ => None,
            })
        })
}

/// The first write-blocking lock `st` requests on a table that existed before this file: what
/// the lock_timeout and statement_timeout rules warn about.
pub(crate) fn write_blocking_lock(cx: &Cx, st: &Stmt) -> Option<(QName, LockMode)> {
    locks(st, cx.schema)
        .into_iter()
        .find(|(t, m)| m.blocks_writes() && cx.existing(t))
}

/// `"CONSTRAINT name "` or "" for suggested SQL.
pub(crate) fn con_name(name: &Option<String>, fallback: &str) -> String {
    crate::schema::pg_ident(name.as_deref().unwrap_or(fallback))
}

pub(crate) fn cols(c: &[String]) -> String {
    c.iter()
        .map(|x| crate::schema::pg_ident(x))
        .collect::<Vec<_>>()
        .join(", ")
}
