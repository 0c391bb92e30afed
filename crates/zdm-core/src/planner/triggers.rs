//! Dual-write triggers. While a migration is expanded, a BEFORE INSERT OR UPDATE trigger per
//! changed table keeps the old and new physical columns in step: a write from the old version
//! fills the new columns with the migration's `up` SQL, a write from the new version fills the old
//! columns with `down`. Both are written with logical column names, which the trigger declares
//! as PL/pgSQL variables holding the row's values as that version sees them.
//!
//! Which version wrote is decided by `<ledger>.is_new_version(<version schema>)`: an explicit
//! `zdm.version` session setting wins (use `SET LOCAL zdm.version` behind transaction-pooling
//! PgBouncer); otherwise the first schema of the effective search path (`current_schemas`),
//! which copes with lists, quoting and `$user`, unlike a string match on `search_path`.

use super::context::{truncate63, PlanContext};
use super::{Mode, Stage, Step};
use crate::ident::{quote_ident, quote_literal, quote_qualified};
use crate::planner::{Lock, LockMode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Computed when the old version writes (the `up` SQL).
    FromOld,
    /// Computed when the new version writes (the `down` SQL).
    FromNew,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DualWrite {
    /// Physical table.
    pub table: String,
    /// Physical column the trigger writes.
    pub column: String,
    /// SQL expression (or scalar `SELECT`) in the writing version's logical column names.
    pub expr: String,
    pub direction: Direction,
    /// Only on INSERT (a dropped column keeps its value when the new version updates other columns).
    pub insert_only: bool,
    /// Only while the column is NULL (a volatile default filled once, not on every write).
    #[serde(default)]
    pub only_if_null: bool,
}

/// Session setting the backfill sets (`SET LOCAL … = 'on'`) so the dual-write trigger skips it.
pub const BACKFILL_SETTING: &str = "zdm.backfill";

/// The names an `up` expression may use besides the old version's own (which are the physical
/// ones): the new version's names of the table's columns, as pgroll writes `up`, each standing
/// for the value the old version wrote (name, physical column). An old name wins a clash.
pub(crate) fn new_names_on_old_side(ctx: &PlanContext, table: &str) -> Vec<(String, String)> {
    let old = ctx.old.tables.values().find(|t| t.physical == table);
    let Some(new) = ctx.new.tables.values().find(|t| t.physical == table) else {
        return Vec::new();
    };
    new.columns
        .iter()
        .filter(|c| !old.is_some_and(|o| o.columns.iter().any(|oc| oc.name == c.name)))
        .map(|c| {
            let physical = ctx
                .duplicated
                .iter()
                .find(|d| d.table == table && d.temp == c.physical)
                .map(|d| d.column.clone())
                .unwrap_or_else(|| c.physical.clone());
            (c.name.clone(), physical)
        })
        .collect()
}

/// The `SET` list the backfill uses for `table`: each old → new dual write as plain SQL, with
/// the new version's names put under their physical columns.
pub(crate) fn backfill_assignments(ctx: &PlanContext, table: &str) -> Vec<String> {
    let names: Vec<(String, String)> = new_names_on_old_side(ctx, table)
        .into_iter()
        .map(|(n, p)| (n, quote_ident(&p)))
        .collect();
    ctx.dual_writes
        .iter()
        .filter(|d| d.table == table && d.direction == Direction::FromOld)
        .map(|d| {
            let col = quote_ident(&d.column);
            let expr = d.expr.trim().trim_end_matches(';');
            let expr = super::rewrite::replace_columns_in_expr(expr, &names);
            if d.only_if_null {
                format!("{col} = coalesce({col}, ({expr}))")
            } else {
                format!("{col} = ({expr})")
            }
        })
        .collect()
}

pub(crate) struct TriggerSteps {
    pub create: Vec<Step>,
    pub drop: Vec<Step>,
}

/// Short, stable tag of a migration for naming its functions and triggers.
pub fn migration_tag(migration_id: &str) -> String {
    hex::encode(&Sha256::digest(migration_id.as_bytes())[..4])
}

pub fn trigger_name(migration_id: &str) -> String {
    format!("_zdm_dual_write_{}", migration_tag(migration_id))
}

pub fn function_name(migration_id: &str, table: &str) -> String {
    truncate63(format!("_zdm_dw_{}_{table}", migration_tag(migration_id)))
}

/// Whether `name` occurs as a word in `text` (so the expression may refer to the column).
fn mentions(text: &str, name: &str) -> bool {
    let lower = text.to_lowercase();
    let name = name.to_lowercase();
    lower.match_indices(&name).any(|(i, _)| {
        let before = lower[..i].chars().next_back();
        let after = lower[i + name.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
        !word(before) && !word(after)
    })
}

/// Variables for the columns the direction's expressions mention: declaring every column would
/// cost a copy per column per row.
fn declarations(ctx: &PlanContext, table: &str, new_version: bool, exprs: &[&str]) -> String {
    let schema = if new_version { &ctx.new } else { &ctx.old };
    let Some(t) = schema.tables.values().find(|t| t.physical == table) else {
        return String::new();
    };
    let mut names: Vec<(String, String)> = t
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.physical.clone()))
        .collect();
    if !new_version {
        names.extend(new_names_on_old_side(ctx, table));
    }
    let mut out = String::new();
    for (name, physical) in names {
        if matches!(name.to_ascii_lowercase().as_str(), "new" | "old")
            || !exprs.iter().any(|e| mentions(e, &name))
        {
            continue; // unused, or would shadow the NEW/OLD records
        }
        out.push_str(&format!(
            "      {} {}.{}%TYPE := NEW.{};\n",
            quote_ident(&name),
            quote_qualified(&ctx.target.schema, table),
            quote_ident(&physical),
            quote_ident(&physical)
        ));
    }
    out
}

fn assignments(dws: &[&DualWrite], direction: Direction) -> String {
    let mut out = String::new();
    for dw in dws.iter().filter(|d| d.direction == direction) {
        let assign = format!(
            "NEW.{} := ({});",
            quote_ident(&dw.column),
            dw.expr.trim().trim_end_matches(';')
        );
        if dw.insert_only {
            out.push_str(&format!(
                "      IF TG_OP = 'INSERT' THEN {assign} END IF;\n"
            ));
        } else {
            out.push_str(&format!("      {assign}\n"));
        }
    }
    out
}

pub(crate) fn plan(ctx: &PlanContext) -> TriggerSteps {
    let mut tables: Vec<&str> = ctx.dual_writes.iter().map(|d| d.table.as_str()).collect();
    tables.dedup();
    tables.sort();
    tables.dedup();
    let ls = quote_ident(&ctx.target.ledger_schema);
    let id = &ctx.target.migration_id;
    let tag = format!("$zdm_{}$", migration_tag(id));
    let mut create = Vec::new();
    let mut drop = Vec::new();
    for table in tables {
        let dws: Vec<&DualWrite> = ctx
            .dual_writes
            .iter()
            .filter(|d| d.table == table)
            .collect();
        let exprs = |d: Direction| {
            dws.iter()
                .filter(|w| w.direction == d)
                .map(|w| w.expr.as_str())
                .collect::<Vec<_>>()
        };
        let func = format!("{ls}.{}", quote_ident(&function_name(id, table)));
        let trig = quote_ident(&trigger_name(id));
        let qt = quote_qualified(&ctx.target.schema, table);
        let body = format!(
            "CREATE OR REPLACE FUNCTION {func}() RETURNS trigger LANGUAGE plpgsql AS {tag}\n\
             #variable_conflict use_variable\n\
             BEGIN\n  IF coalesce(nullif(current_setting('zdm.version', true), '') = {vs}, (current_schemas(false))[1] = {vs}, false) THEN\n    DECLARE\n{new_decl}    BEGIN\n{from_new}    END;\n  \
             ELSE\n    -- A write through the old version: noted (once per session every 10 s) for `zdm complete`;\n    \
             -- a role that may not reach the ledger is not noted, and its write goes on.\n    \
             IF coalesce(nullif(current_setting('zdm.old_write_at', true), '')::float8 < extract(epoch FROM clock_timestamp()) - 10, true) THEN\n      \
             BEGIN\n        PERFORM {ls}.note_old_write({mid});\n      \
             EXCEPTION WHEN OTHERS THEN\n        \
             PERFORM set_config('zdm.old_write_at', extract(epoch FROM clock_timestamp())::text, false);\n      END;\n    END IF;\n    DECLARE\n{old_decl}    BEGIN\n{from_old}    END;\n  END IF;\n  RETURN NEW;\nEND\n{tag}",
            mid = quote_literal(id),
            vs = quote_literal(&ctx.target.version_schema),
            new_decl = declarations(ctx, table, true, &exprs(Direction::FromNew)),
            old_decl = declarations(ctx, table, false, &exprs(Direction::FromOld)),
            from_new = assignments(&dws, Direction::FromNew),
            from_old = assignments(&dws, Direction::FromOld),
        );
        let lock = Lock::new(
            LockMode::ShareRowExclusive,
            format!("{}.{table} (brief)", ctx.target.schema),
        );
        create.push(Step {
            stage: Stage::Expand,
            mode: Mode::Transaction,
            sql: body,
            lock: Lock::none(),
        });
        create.push(Step {
            stage: Stage::Expand,
            mode: Mode::Transaction,
            // The backfill computes the same `up` SQL itself and marks its transactions, so the
            // trigger is skipped there by a WHEN clause (evaluated without calling the function).
            sql: format!(
                "CREATE TRIGGER {trig} BEFORE INSERT OR UPDATE ON {qt} FOR EACH ROW \
                 WHEN (current_setting('{BACKFILL_SETTING}', true) IS DISTINCT FROM 'on') EXECUTE FUNCTION {func}()"
            ),
            lock: lock.clone(),
        });
        drop.push(Step {
            stage: Stage::Contract,
            mode: Mode::Transaction,
            sql: format!("DROP TRIGGER IF EXISTS {trig} ON {qt}"),
            lock: Lock::new(
                LockMode::AccessExclusive,
                format!("{}.{table} (brief)", ctx.target.schema),
            ),
        });
        drop.push(Step {
            stage: Stage::Contract,
            mode: Mode::Transaction,
            sql: format!("DROP FUNCTION IF EXISTS {func}()"),
            lock: Lock::none(),
        });
    }
    TriggerSteps { create, drop }
}
