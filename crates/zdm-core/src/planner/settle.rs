//! Names settle once, after everything else. Operations never rename tables or columns as they
//! are planned: they change the logical names in the planner's schema and write every statement
//! against the physical names, which therefore stay the same from the first statement of a phase
//! to the last. What the new version calls a table or column is given to it by its views; the
//! physical objects take their final names in one place:
//! - tables this migration creates (nobody else sees them) at the end of start;
//! - everything else at the end of the contract, when the old version is gone.
//!
//! The new version's view mapping is derived from the same final schema, so it cannot disagree
//! with what complete will do.

use super::context::{truncate63, PlanContext};
use super::{Mode, Stage, TableMapping, VersionMapping};
use crate::ident::quote_ident;
use crate::planner::{Lock, LockMode};

/// The renames to run, in order, for `renames` (from, to): as given, or, when one's target is
/// another's source (a swap, a chain), each parked under a helper name `{park}N` first.
fn rename_steps(renames: &[(String, String)], park: &str) -> Vec<(String, String)> {
    let cycle = renames
        .iter()
        .any(|(_, to)| renames.iter().any(|(from, _)| from == to));
    if !cycle {
        return renames.to_vec();
    }
    let parked: Vec<String> = (0..renames.len())
        .map(|i| truncate63(format!("{park}{i}")))
        .collect();
    let mut out: Vec<(String, String)> = renames
        .iter()
        .zip(&parked)
        .map(|((f, _), p)| (f.clone(), p.clone()))
        .collect();
    out.extend(
        renames
            .iter()
            .zip(&parked)
            .map(|((_, t), p)| (p.clone(), t.clone())),
    );
    out
}

/// One table's column renames.
fn column_renames(qt: &str, renames: &[(String, String)]) -> Vec<String> {
    rename_steps(renames, "_zdm_settle_")
        .into_iter()
        .map(|(from, to)| {
            format!(
                "ALTER TABLE {qt} RENAME COLUMN {} TO {}",
                quote_ident(&from),
                quote_ident(&to)
            )
        })
        .collect()
}

/// PostgreSQL named a table's implicit constraints and sequences after the helper name the table
/// was created under (`_zdm_new_t_pkey`, `_zdm_new_t_id_seq`): give them the names they would have
/// had (`t_pkey`), once the table has its own name.
fn implicit_names(schema: &str, qualified: &str, from: &str, to: &str) -> String {
    let lit = crate::ident::quote_literal;
    let prefix = format!("{from}_");
    // A name still taken in the schema (say by the index of a table renamed away) stays as it is.
    format!(
        "DO $zdm$ DECLARE r record; BEGIN \
         FOR r IN SELECT conname AS name FROM pg_constraint WHERE conrelid = {rel}::regclass AND starts_with(conname, {p}) LOOP \
           IF to_regclass(format('%I.%I', {nsp}, {to} || substr(r.name, {n}))) IS NULL \
              AND NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = {rel}::regclass AND conname = {to} || substr(r.name, {n})) THEN \
             EXECUTE format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', {rel}, r.name, {to} || substr(r.name, {n})); END IF; END LOOP; \
         FOR r IN SELECT s.oid::regclass::text AS seq, s.relname AS name FROM pg_depend d JOIN pg_class s ON s.oid = d.objid \
                   WHERE d.refobjid = {rel}::regclass AND s.relkind = 'S' AND starts_with(s.relname, {p}) LOOP \
           IF to_regclass(format('%I.%I', {nsp}, {to} || substr(r.name, {n}))) IS NULL THEN \
             EXECUTE format('ALTER SEQUENCE %s RENAME TO %I', r.seq, {to} || substr(r.name, {n})); END IF; END LOOP; \
         END $zdm$",
        rel = lit(qualified),
        nsp = lit(schema),
        p = lit(&prefix),
        to = lit(to),
        n = from.chars().count() + 1,
    )
}

/// The physical name a column has once complete has swapped its helper column in.
fn settled_physical(ctx: &PlanContext, table: &str, physical: &str) -> String {
    ctx.duplicated
        .iter()
        .find(|d| d.table == table && d.temp == physical)
        .map(|d| d.column.clone())
        .unwrap_or_else(|| physical.to_string())
}

pub(crate) fn settle_names(ctx: &mut PlanContext) {
    let tables: Vec<String> = ctx.new.tables.keys().cloned().collect();
    // Table renames at complete, after every column's: (physical, final, created by this
    // migration). Existing tables first, so a created table finds its name free.
    let mut table_renames: Vec<(String, String, bool)> = Vec::new();
    for logical in tables {
        let t = ctx.new.tables[&logical].clone();
        let created = ctx.created.contains(&logical);
        let qt = ctx.qt(&t.physical);
        let renames: Vec<(String, String)> = t
            .columns
            .iter()
            .filter_map(|c| {
                let p = if created {
                    c.physical.clone()
                } else {
                    settled_physical(ctx, &t.physical, &c.physical)
                };
                (p != c.name).then(|| (p, c.name.clone()))
            })
            .collect();
        // A created table whose name an old table still holds waits for complete to take it.
        let table_waits = created
            && t.physical != t.name
            && ctx.old.tables.values().any(|o| o.physical == t.name);
        let rename_table = (t.physical != t.name)
            .then(|| format!("ALTER TABLE {qt} RENAME TO {}", quote_ident(&t.name)));
        if created {
            for sql in column_renames(&qt, &renames) {
                ctx.start(
                    Stage::ExpandConcurrently,
                    Mode::Transaction,
                    sql,
                    Lock::new(LockMode::None, "the table is new"),
                );
            }
            let table = ctx.new.tables.get_mut(&logical).expect("listed");
            for c in &mut table.columns {
                c.physical = c.name.clone();
            }
            if let Some(sql) = rename_table {
                if table_waits {
                    table_renames.push((t.physical.clone(), t.name.clone(), true));
                } else {
                    ctx.start(
                        Stage::ExpandConcurrently,
                        Mode::Transaction,
                        sql,
                        Lock::new(LockMode::None, "the table is new"),
                    );
                    ctx.rollback(
                        Stage::Undo,
                        Mode::Transaction,
                        format!("DROP TABLE IF EXISTS {} CASCADE", ctx.qt(&t.name)),
                        Lock::new(LockMode::AccessExclusive, "the new table"),
                    );
                    ctx.new.tables.get_mut(&logical).expect("listed").physical = t.name.clone();
                }
            }
            continue;
        }
        let lock = ctx.brief_exclusive(&t.physical);
        for sql in column_renames(&qt, &renames) {
            ctx.complete(Stage::Contract, Mode::Transaction, sql, lock.clone());
        }
        if rename_table.is_some() {
            table_renames.push((t.physical.clone(), t.name.clone(), false));
        }
    }
    table_renames.sort_by_key(|(_, _, created)| *created);
    let pairs: Vec<(String, String)> = table_renames
        .iter()
        .map(|(from, to, _)| (from.clone(), to.clone()))
        .collect();
    for (from, to) in rename_steps(&pairs, "_zdm_settle_t") {
        let lock = ctx.brief_exclusive(&from);
        let sql = format!(
            "ALTER TABLE {} RENAME TO {}",
            ctx.qt(&from),
            quote_ident(&to)
        );
        ctx.complete(Stage::Contract, Mode::Transaction, sql, lock);
    }
    for (original, to, _) in table_renames.iter().filter(|(_, _, created)| *created) {
        let lock = ctx.brief_exclusive(to);
        let qualified = crate::ident::quote_qualified(&ctx.target.schema, to);
        let sql = implicit_names(&ctx.target.schema, &qualified, original, to);
        ctx.complete(Stage::Contract, Mode::Transaction, sql, lock);
    }
}

/// How the new version's views name the physical tables and columns (as they are after start).
pub(crate) fn mapping(ctx: &PlanContext) -> VersionMapping {
    let mut out = VersionMapping::default();
    for t in ctx.new.tables.values() {
        let old = ctx.old.tables.values().find(|o| o.physical == t.physical);
        let renamed: Vec<(String, String)> = t
            .columns
            .iter()
            .filter(|c| c.name != c.physical)
            .map(|c| (c.name.clone(), c.physical.clone()))
            .collect();
        let hidden: Vec<String> = old
            .map(|o| {
                o.columns
                    .iter()
                    .filter(|oc| !t.columns.iter().any(|c| c.physical == oc.physical))
                    .map(|oc| oc.physical.clone())
                    .collect()
            })
            .unwrap_or_default();
        let replaces: Vec<(String, String)> = ctx
            .duplicated
            .iter()
            .filter(|d| d.table == t.physical)
            .map(|d| (d.temp.clone(), d.column.clone()))
            .collect();
        if t.name != t.physical || !renamed.is_empty() || !hidden.is_empty() {
            out.tables.push(TableMapping {
                logical: t.name.clone(),
                physical: t.physical.clone(),
                renamed,
                hidden,
                replaces,
            });
        }
    }
    for o in ctx.old.tables.values() {
        if !ctx.new.tables.values().any(|t| t.physical == o.physical) {
            out.hidden_tables.push(o.physical.clone());
        }
    }
    out
}
