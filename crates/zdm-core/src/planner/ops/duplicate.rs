//! Column duplication, the mechanism behind every change an old version must not see
//! (alter_column, create/drop constraint): a helper column `_zdm_new_<c>` with the new definition
//! and the table's existing constraints and indexes on `c` rebuilt for it, kept in step by the
//! dual-write trigger (`up` old→new, `down` new→old), backfilled, and swapped in at complete.

use super::super::context::{temp_column, truncate63, PlanContext};
use super::super::rewrite::{rename_column_in_expr, replace_columns_in_expr};
use super::super::triggers::migration_tag;
use super::super::triggers::{Direction, DualWrite};
use super::super::{Mode, Stage};
use crate::ident::{quote_ident, quote_literal};
use crate::planner::{Lock, LockMode};
use crate::schema::{Constraint, ConstraintKind, Schema, Table};
use sha2::{Digest, Sha256};

/// What changes in the duplicate; `None` keeps the column's current setting.
#[derive(Debug, Default, Clone)]
pub struct Change<'a> {
    pub data_type: Option<&'a str>,
    pub nullable: Option<bool>,
    /// `Some(None)` drops the default.
    pub default: Option<Option<&'a str>>,
    pub up: Option<&'a str>,
    pub down: Option<&'a str>,
    /// An existing constraint the duplicate must not carry (drop_constraint).
    pub without_constraint: Option<&'a str>,
}

/// A column duplicated by this migration (for [`rebuild_dependents`]).
#[derive(Debug, Clone)]
pub struct DuplicatedColumn {
    pub table: String,
    pub column: String,
    pub temp: String,
    pub without_constraint: Option<String>,
    /// Index of the start step that adds the helper column (a later operation on the same
    /// column may change its type).
    pub add_step: usize,
    /// Index of the start step that gives the helper the column's default, if any.
    pub default_step: Option<usize>,
}

/// `SET DEFAULT` on the helper column. Lenient: the column's old default may not fit its new
/// type; as pgroll does, it is then dropped rather than failing the start (an explicit new
/// default stays strict).
fn set_default(qt: &str, qtemp: &str, default: &str, lenient: bool, column: &str) -> String {
    let set = format!("ALTER TABLE {qt} ALTER COLUMN {qtemp} SET DEFAULT {default}");
    if !lenient {
        return set;
    }
    format!(
        "DO $zdm$ BEGIN {set}; EXCEPTION WHEN datatype_mismatch OR cannot_coerce OR invalid_text_representation \
         OR invalid_datetime_format OR numeric_value_out_of_range OR undefined_function THEN \
         RAISE NOTICE 'zdm: default % does not fit the new type of %; dropped', {}, {}; END $zdm$",
        quote_literal(default),
        quote_literal(column)
    )
}

pub struct Duplicated {
    /// Physical table.
    pub table: String,
    /// The helper column's name.
    pub temp: String,
}

fn short(name: &str) -> String {
    hex::encode(&Sha256::digest(name.as_bytes())[..3])
}

/// Name of the duplicate of constraint or index `name`.
pub fn dup_name(name: &str) -> String {
    truncate63(format!("_zdm_dup_{}_{name}", short(name)))
}

pub fn duplicate_column(
    ctx: &mut PlanContext,
    table: &str,
    column: &str,
    change: &Change<'_>,
) -> Result<Duplicated, String> {
    let t = ctx.table(table)?.clone();
    let col = t.require_column(column)?.clone();
    if let Some(i) = ctx
        .duplicated
        .iter()
        .position(|d| d.table == t.physical && d.temp == col.physical)
    {
        return change_duplicate(ctx, table, column, i, change);
    }
    let old_table = ctx.old.tables.values().find(|o| o.physical == t.physical);
    if let Some(idx) = t.indexes.iter().find(|i| {
        i.columns.contains(&col.physical)
            && !old_table.is_some_and(|o| o.indexes.iter().any(|oi| oi.name == i.name))
    }) {
        return Err(format!("index `{}` is created on `{table}.{column}` by an earlier operation of this migration and would go with the old column: create it after this change", idx.name));
    }
    if ctx.added_column(table, column) {
        return Err(format!("column `{table}.{column}` is added by this migration: give its final definition in add_column"));
    }
    let in_primary_key = t.primary_key.contains(&col.physical);
    if in_primary_key {
        // A foreign key created by this very migration would pin the old column.
        if let Some((child, fk)) = referencing_fks(&ctx.new, &t.physical, &col.physical)
            .into_iter()
            .find(|(child, fk)| {
                !referencing_fks(&ctx.old, &t.physical, &col.physical)
                    .contains(&(child.clone(), fk.clone()))
            })
        {
            return Err(format!("foreign key `{}` on `{}` is created by this migration and references primary-key column `{table}.{column}`, which it changes; create the foreign key in a later migration", fk.name, child.name));
        }
    }
    if let Some(x) = t
        .constraints
        .iter()
        .find(|c| c.kind == ConstraintKind::Exclusion && c.columns.contains(&col.physical))
    {
        return Err(format!("column `{table}.{column}` is part of exclusion constraint `{}`, which cannot be rebuilt online", x.name));
    }
    let qt = ctx.qt(&t.physical);
    let temp = temp_column(&col.physical);
    let qtemp = quote_ident(&temp);
    let qcol = quote_ident(&col.physical);
    let data_type = change.data_type.unwrap_or(&col.data_type).to_string();
    let nullable = change.nullable.unwrap_or(col.nullable);
    let default = match change.default {
        Some(d) => d.map(str::to_string),
        None => col.default.clone(),
    };
    // An identity column has no default of its own: the helper draws from the same sequence
    // until complete, when it becomes an identity column itself.
    let identity_sequence = col.identity.as_ref().and(col.sequence.as_ref());
    let default = match (identity_sequence, &change.default) {
        (Some(seq), None) => Some(format!("nextval({}::regclass)", quote_literal(seq))),
        _ => default,
    };
    let lock = ctx.brief_exclusive(&t.physical);

    // Expand: the helper column (never with a default in ADD COLUMN, which could rewrite the
    // table for a volatile one; SET DEFAULT is catalog-only and applies to new rows).
    let add_step = ctx.start_steps();
    ctx.start(
        Stage::Expand,
        Mode::Transaction,
        format!("ALTER TABLE {qt} ADD COLUMN {qtemp} {data_type}"),
        lock.clone(),
    );
    let mut default_step = None;
    if let Some(d) = &default {
        let type_changes = change.data_type.is_some_and(|t| t != col.data_type);
        let lenient = type_changes && change.default.is_none() && identity_sequence.is_none();
        default_step = Some(ctx.start_steps());
        ctx.start(
            Stage::Expand,
            Mode::Transaction,
            set_default(&qt, &qtemp, d, lenient, &col.name),
            lock.clone(),
        );
    }

    // The table's constraints and indexes on the column are rebuilt for the helper column once
    // all operations are planned (several columns of one constraint may be duplicated).
    ctx.duplicated.push(DuplicatedColumn {
        table: t.physical.clone(),
        column: col.physical.clone(),
        temp: temp.clone(),
        without_constraint: change.without_constraint.map(str::to_string),
        add_step,
        default_step,
    });

    // Dual writes: old → new with `up`, new → old with `down` (both default to a plain copy).
    ctx.dual_write(DualWrite {
        table: t.physical.clone(),
        column: temp.clone(),
        expr: change
            .up
            .map(str::to_string)
            .unwrap_or_else(|| quote_ident(&col.physical)),
        direction: Direction::FromOld,
        insert_only: false,
        only_if_null: false,
    });
    ctx.dual_write(DualWrite {
        table: t.physical.clone(),
        column: col.physical.clone(),
        expr: change
            .down
            .map(str::to_string)
            .unwrap_or_else(|| quote_ident(column)),
        direction: Direction::FromNew,
        insert_only: false,
        only_if_null: false,
    });
    ctx.backfill(&t.physical, t.backfill_key());

    // Complete: swap the helper column in (the old column's constraints and indexes go with it).
    let identity_next = format!(
        "zdm.identity_{}",
        migration_tag(&format!("{}.{}", t.physical, col.physical))
    );
    match (&col.identity, &col.sequence) {
        (Some(_), Some(seq)) if change.default.is_none() => {
            // The old identity sequence goes with the old column: remember where it stood.
            ctx.complete(
                Stage::Contract,
                Mode::Transaction,
                format!(
                    "SELECT set_config({}, nextval({}::regclass)::text, true)",
                    quote_literal(&identity_next),
                    quote_literal(seq)
                ),
                Lock::none(),
            );
            ctx.complete(
                Stage::Contract,
                Mode::Transaction,
                format!("ALTER TABLE {qt} ALTER COLUMN {qtemp} DROP DEFAULT"),
                lock.clone(),
            );
        }
        (None, Some(seq)) if default.as_deref().is_some_and(|d| d.contains("nextval(")) => {
            // A serial column's sequence would be dropped with it; the helper takes it over,
            // widened when the column is.
            ctx.complete(
                Stage::Contract,
                Mode::Transaction,
                format!("ALTER SEQUENCE {seq} OWNED BY {qt}.{qtemp}"),
                lock.clone(),
            );
            if is_bigint(&data_type) && !is_bigint(&col.data_type) {
                ctx.complete(
                    Stage::Contract,
                    Mode::Transaction,
                    format!("ALTER SEQUENCE {seq} AS bigint"),
                    lock.clone(),
                );
            }
        }
        _ => {}
    }
    if in_primary_key {
        swap_referencing_fks(ctx, &t.physical, &col.physical, &temp);
    }
    ctx.complete(
        Stage::Contract,
        Mode::Transaction,
        format!("ALTER TABLE {qt} DROP COLUMN {qcol}"),
        lock.clone(),
    );
    ctx.complete(
        Stage::Contract,
        Mode::Transaction,
        format!("ALTER TABLE {qt} RENAME COLUMN {qtemp} TO {qcol}"),
        lock.clone(),
    );
    if !nullable {
        ctx.not_null_at_complete(&t.physical, &temp, &col.physical);
    }
    if let (Some(kind), Some(_), None) = (&col.identity, &col.sequence, &change.default) {
        let generated = if kind == "a" { "ALWAYS" } else { "BY DEFAULT" };
        ctx.complete(
            Stage::Contract,
            Mode::Transaction,
            format!("ALTER TABLE {qt} ALTER COLUMN {qcol} ADD GENERATED {generated} AS IDENTITY"),
            lock.clone(),
        );
        ctx.complete(
            Stage::Contract,
            Mode::Transaction,
            format!(
                "SELECT setval(pg_get_serial_sequence({}, {}), current_setting({})::bigint)",
                quote_literal(&qt),
                quote_literal(&col.physical),
                quote_literal(&identity_next)
            ),
            Lock::none(),
        );
    }
    ctx.rollback(
        Stage::Undo,
        Mode::Transaction,
        format!("ALTER TABLE {qt} DROP COLUMN IF EXISTS {qtemp}"),
        lock,
    );
    if in_primary_key {
        // Undo runs in reverse: these go before the helper column they reference.
        for (child, fk) in referencing_fks(&ctx.old, &t.physical, &col.physical) {
            let qchild = ctx.qt(&child.physical);
            let lock = ctx.brief_exclusive(&child.physical);
            ctx.rollback(
                Stage::Undo,
                Mode::Transaction,
                format!(
                    "ALTER TABLE {qchild} DROP CONSTRAINT IF EXISTS {}",
                    quote_ident(&dup_name(&fk.name))
                ),
                lock,
            );
        }
    }

    // The new version sees the helper column under the column's name.
    let nt = ctx.table_mut(table)?;
    if let Some(c) = nt.column_mut(column) {
        c.physical = temp.clone();
        c.data_type = data_type;
        c.nullable = nullable;
        c.default = if identity_sequence.is_some() && change.default.is_none() {
            None
        } else {
            default
        };
        c.sequence = None;
    }
    for k in nt.primary_key.iter_mut().filter(|k| **k == col.physical) {
        *k = temp.clone();
    }
    if let Some(name) = change.without_constraint {
        nt.constraints.retain(|c| c.name != name);
    }
    Ok(Duplicated {
        table: t.physical,
        temp,
    })
}

/// A further operation on a column this migration already duplicated changes the same helper
/// column: its `up` applies to what the earlier `up` computed, its `down` comes before the earlier
/// `down`, and a new type replaces the helper's type before it is created.
fn change_duplicate(
    ctx: &mut PlanContext,
    table: &str,
    column: &str,
    index: usize,
    change: &Change<'_>,
) -> Result<Duplicated, String> {
    let d = ctx.duplicated[index].clone();
    let t = ctx.table(table)?.clone();
    let col = t.require_column(column)?.clone();
    let qt = ctx.qt(&t.physical);
    let qtemp = quote_ident(&d.temp);
    let lock = ctx.brief_exclusive(&t.physical);
    if let Some(ty) = change.data_type.filter(|ty| *ty != col.data_type) {
        ctx.rewrite_start_step(
            d.add_step,
            format!("ALTER TABLE {qt} ADD COLUMN {qtemp} {ty}"),
        );
        // The default given to the helper earlier may not fit the new type either.
        if let (Some(step), Some(def), None) = (d.default_step, &col.default, change.default) {
            ctx.rewrite_start_step(step, set_default(&qt, &qtemp, def, true, column));
        }
    }
    match change.nullable {
        Some(false) if col.nullable => ctx.not_null_at_complete(&t.physical, &d.temp, &d.column),
        Some(true) if !col.nullable => {
            return Err(format!("column `{table}.{column}` is made NOT NULL by an earlier operation of this migration"));
        }
        _ => {}
    }
    match change.default {
        Some(Some(def)) => ctx.start(
            Stage::Expand,
            Mode::Transaction,
            format!("ALTER TABLE {qt} ALTER COLUMN {qtemp} SET DEFAULT {def}"),
            lock,
        ),
        Some(None) => ctx.start(
            Stage::Expand,
            Mode::Transaction,
            format!("ALTER TABLE {qt} ALTER COLUMN {qtemp} DROP DEFAULT"),
            lock,
        ),
        None => {}
    }
    let names = |inner: &str| {
        let inner = format!("({})", inner.trim().trim_end_matches(';'));
        let mut with = vec![(column.to_string(), inner.clone())];
        if d.column != column {
            with.push((d.column.clone(), inner));
        }
        with
    };
    if let Some(up) = change.up {
        if let Some(w) = ctx.dual_writes.iter_mut().find(|w| {
            w.table == t.physical && w.column == d.temp && w.direction == Direction::FromOld
        }) {
            w.expr = replace_columns_in_expr(up, &names(&w.expr));
        }
    }
    if let Some(down) = change.down {
        if let Some(w) = ctx.dual_writes.iter_mut().find(|w| {
            w.table == t.physical && w.column == d.column && w.direction == Direction::FromNew
        }) {
            w.expr = replace_columns_in_expr(&w.expr, &names(down));
        }
    }
    if let Some(name) = change.without_constraint {
        ctx.duplicated[index].without_constraint = Some(name.to_string());
    }
    let nt = ctx.table_mut(table)?;
    if let Some(c) = nt.column_mut(column) {
        if let Some(ty) = change.data_type {
            c.data_type = ty.to_string();
        }
        if let Some(n) = change.nullable {
            c.nullable = n;
        }
        if let Some(def) = change.default {
            c.default = def.map(str::to_string);
        }
    }
    if let Some(name) = change.without_constraint {
        nt.constraints.retain(|c| c.name != name);
    }
    Ok(Duplicated {
        table: t.physical,
        temp: d.temp,
    })
}

/// Rebuild, for the helper columns, the checks, foreign keys and indexes (unique constraints
/// included) that involve duplicated columns: each object once, with all its duplicated columns
/// renamed. Called after every operation is planned; the swap back happens at complete, after the
/// old columns (and their objects) are gone.
pub(crate) fn rebuild_dependents(ctx: &mut PlanContext) {
    let mut tables: Vec<String> = ctx.duplicated.iter().map(|d| d.table.clone()).collect();
    tables.sort();
    tables.dedup();
    for physical in tables {
        let dups: Vec<DuplicatedColumn> = ctx
            .duplicated
            .iter()
            .filter(|d| d.table == physical)
            .cloned()
            .collect();
        let Some(t) = ctx
            .old
            .tables
            .values()
            .find(|t| t.physical == physical)
            .cloned()
        else {
            continue;
        };
        let skip: Vec<&str> = dups
            .iter()
            .filter_map(|d| d.without_constraint.as_deref())
            .collect();
        let touches = |cols: &[String]| dups.iter().any(|d| cols.contains(&d.column));
        let rename_all = |text: &str| {
            dups.iter().fold(text.to_string(), |acc, d| {
                rename_column_in_expr(&acc, &d.column, &d.temp)
            })
        };
        let qt = ctx.qt(&physical);
        let lock = ctx.brief_exclusive(&physical);
        let validate_lock = ctx.non_blocking(&physical);
        let mut after_swap = Vec::new();
        for con in t.constraints.iter().filter(|c| {
            matches!(c.kind, ConstraintKind::Check | ConstraintKind::ForeignKey)
                && touches(&c.columns)
        }) {
            if skip.contains(&con.name.as_str()) {
                continue;
            }
            // Renamed or dropped by a later operation: the rebuilt one takes that fate.
            let Some(final_name) = ctx.constraint_final_name(&physical, &con.name) else {
                continue;
            };
            let def = con.definition.trim_end_matches(" NOT VALID");
            let rewritten = match (con.kind, def.split_once(" REFERENCES ")) {
                (ConstraintKind::ForeignKey, Some((local, remote))) => {
                    format!("{} REFERENCES {remote}", rename_all(local))
                }
                _ => rename_all(def),
            };
            let dup = dup_name(&con.name);
            ctx.constraint_not_valid(&physical, &dup, &rewritten, lock.clone(), con.validated);
            after_swap.push(format!(
                "ALTER TABLE {qt} RENAME CONSTRAINT {} TO {}",
                quote_ident(&dup),
                quote_ident(&final_name)
            ));
        }
        for idx in t.indexes.iter().filter(|i| touches(&i.columns)) {
            let backs = t.constraints.iter().find(|c| {
                c.name == idx.name
                    && matches!(c.kind, ConstraintKind::Unique | ConstraintKind::PrimaryKey)
            });
            if backs.is_some_and(|c| skip.contains(&c.name.as_str())) {
                continue;
            }
            let backs_as = match backs {
                Some(c) => match ctx.constraint_final_name(&physical, &c.name) {
                    Some(name) => Some((c, name)),
                    None => continue,
                },
                None => None,
            };
            let dup = dup_name(&idx.name);
            let def = rename_all(&idx.definition);
            let Some((_, on_part)) = def.split_once(" ON ") else {
                continue;
            };
            let unique = if idx.unique { "UNIQUE " } else { "" };
            ctx.start(
                Stage::ExpandConcurrently,
                Mode::NoTransaction,
                format!(
                    "CREATE {unique}INDEX CONCURRENTLY IF NOT EXISTS {} ON {on_part}",
                    quote_ident(&dup)
                ),
                validate_lock.clone(),
            );
            let schema = quote_ident(&ctx.target.schema);
            after_swap.push(match backs_as {
                Some((c, name)) => format!(
                    "ALTER TABLE {qt} ADD CONSTRAINT {} {} USING INDEX {}",
                    quote_ident(&name),
                    if c.kind == ConstraintKind::PrimaryKey {
                        "PRIMARY KEY"
                    } else {
                        "UNIQUE"
                    },
                    quote_ident(&dup)
                ),
                None => format!(
                    "ALTER INDEX {schema}.{} RENAME TO {}",
                    quote_ident(&dup),
                    quote_ident(&idx.name)
                ),
            });
            ctx.rollback(
                Stage::UndoConcurrently,
                Mode::NoTransaction,
                format!(
                    "DROP INDEX CONCURRENTLY IF EXISTS {schema}.{}",
                    quote_ident(&dup)
                ),
                validate_lock.clone(),
            );
        }
        for sql in after_swap {
            ctx.complete(Stage::Contract, Mode::Transaction, sql, lock.clone());
        }
    }
}

fn is_bigint(data_type: &str) -> bool {
    matches!(
        data_type.trim().to_ascii_lowercase().as_str(),
        "bigint" | "int8"
    )
}

/// Foreign keys of any table of `schema` that reference `column` of `table` (physical names).
fn referencing_fks(schema: &Schema, table: &str, column: &str) -> Vec<(Table, Constraint)> {
    let mut found = Vec::new();
    for child in schema.tables.values() {
        for fk in &child.constraints {
            if fk.kind == ConstraintKind::ForeignKey
                && fk
                    .references
                    .as_ref()
                    .is_some_and(|(t, cols)| t == table && cols.iter().any(|c| c == column))
            {
                found.push((child.clone(), fk.clone()));
            }
        }
    }
    found
}

/// Re-point the foreign keys that reference a primary-key column being swapped: at complete,
/// once the helper column is backfilled and unique, each gets a twin referencing the helper
/// (`NOT VALID`, then validated without blocking writes), and in the contract transaction the
/// original goes before the column it pins and the twin takes its name.
fn swap_referencing_fks(ctx: &mut PlanContext, table: &str, column: &str, temp: &str) {
    for (child, fk) in referencing_fks(&ctx.old, table, column) {
        let definition = fk.definition.trim_end_matches(" NOT VALID");
        let Some((local, remote)) = definition.split_once(" REFERENCES ") else {
            continue;
        };
        let Some(open) = remote.find('(') else {
            continue;
        };
        let close = remote[open..].find(')').map_or(remote.len(), |i| open + i);
        let remote = format!(
            "{}{}{}",
            &remote[..open],
            rename_column_in_expr(&remote[open..close], column, temp),
            &remote[close..]
        );
        let qchild = ctx.qt(&child.physical);
        let dup = quote_ident(&dup_name(&fk.name));
        let lock = Lock::new(
            LockMode::ShareRowExclusive,
            format!(
                "{schema}.{} and {schema}.{table} (brief)",
                child.physical,
                schema = ctx.target.schema
            ),
        );
        ctx.complete(
            Stage::Validate,
            Mode::OwnTransaction,
            format!(
                "ALTER TABLE {qchild} ADD CONSTRAINT {dup} {local} REFERENCES {remote} NOT VALID"
            ),
            lock,
        );
        if fk.validated {
            let lock = ctx.non_blocking(&child.physical);
            ctx.complete(
                Stage::Validate,
                Mode::OwnTransaction,
                format!("ALTER TABLE {qchild} VALIDATE CONSTRAINT {dup}"),
                lock,
            );
        }
        let lock = ctx.brief_exclusive(&child.physical);
        ctx.complete(
            Stage::Contract,
            Mode::Transaction,
            format!(
                "ALTER TABLE {qchild} DROP CONSTRAINT {}",
                quote_ident(&fk.name)
            ),
            lock.clone(),
        );
        ctx.complete(
            Stage::Contract,
            Mode::Transaction,
            format!(
                "ALTER TABLE {qchild} RENAME CONSTRAINT {dup} TO {}",
                quote_ident(&fk.name)
            ),
            lock,
        );
    }
}
