//! add_column: the old version's views list their columns, so a new column is invisible to it.
//! NOT NULL is enforced as a `CHECK … NOT VALID` until complete; `up` fills it for rows the old
//! version writes and for existing rows (backfill).

use super::columns::{column_definition, is_constant, model, references_sql};
use crate::ident::{quote_ident, quote_literal};
use crate::operations::AddColumn;
use crate::planner::context::truncate63;
use crate::planner::triggers::{Direction, DualWrite};
use crate::planner::Lock;
use crate::planner::{Mode, PlanContext, PlanOperation, Stage};

impl PlanOperation for AddColumn {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        let t = ctx.table(&self.table)?.clone();
        let c = &self.column;
        if t.column(&c.name).is_some() {
            return Err(format!(
                "column `{}` already exists in table `{}`",
                c.name, self.table
            ));
        }
        // The physical name: the column's own, unless the table still holds a column of that
        // name until complete (dropped by this migration); the names settle at complete.
        let physical = ctx.free_column_name(&self.table, &c.name)?;
        let mut model_column = model(c);
        model_column.physical = physical.clone();
        let mut with_column = t.clone();
        with_column.columns.push(model_column.clone());
        let qt = ctx.qt(&t.physical);
        let qc = quote_ident(&physical);
        let lock = ctx.brief_exclusive(&t.physical);
        let validate_lock = ctx.non_blocking(&t.physical);
        if ctx.created.contains(&self.table) {
            let mut def = c.clone();
            def.name = physical.clone();
            if let Some(r) = &c.references {
                def.references = Some(ctx.resolve_fk(r)?);
            }
            ctx.start(
                Stage::Expand,
                Mode::Transaction,
                format!(
                    "ALTER TABLE {qt} ADD COLUMN {}",
                    column_definition(&def, !c.nullable)
                ),
                lock,
            );
            ctx.table_mut(&self.table)?.columns.push(model_column);
            return Ok(());
        }
        if c.pk {
            return Err("adding a primary-key column to an existing table is not supported; add the column, then create_constraint".into());
        }
        let constant_default = c.default.as_deref().filter(|d| is_constant(d));
        let mut add = format!("ALTER TABLE {qt} ADD COLUMN {qc} {}", c.data_type);
        if let Some(d) = constant_default {
            add.push_str(&format!(" DEFAULT {d}"));
        }
        ctx.start(
            Stage::Expand,
            Mode::Transaction,
            add,
            lock.and("no rewrite (no default, or a constant one)"),
        );
        if let (Some(d), None) = (&c.default, constant_default) {
            ctx.start(
                Stage::Expand,
                Mode::Transaction,
                format!("ALTER TABLE {qt} ALTER COLUMN {qc} SET DEFAULT {d}"),
                lock.clone(),
            );
        }
        if !c.nullable {
            ctx.not_null_at_complete(&t.physical, &physical, &physical);
        }
        if c.unique {
            // Built under a name of zdm's (the constraint's own may still belong to an archived
            // column's index); ADD CONSTRAINT … USING INDEX gives the index the constraint's name.
            let constraint = truncate63(format!("{}_{}_key", t.name, c.name));
            let idx = truncate63(format!("_zdm_uq_{}_{}", t.physical, physical));
            ctx.start(
                Stage::ExpandConcurrently,
                Mode::NoTransaction,
                format!(
                    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {} ON {qt} ({qc})",
                    quote_ident(&idx)
                ),
                validate_lock.clone(),
            );
            ctx.complete(
                Stage::Contract,
                Mode::Transaction,
                format!(
                    "ALTER TABLE {qt} ADD CONSTRAINT {} UNIQUE USING INDEX {}",
                    quote_ident(&constraint),
                    quote_ident(&idx)
                ),
                lock.clone(),
            );
        }
        if let Some(chk) = &c.check {
            ctx.constraint_not_valid(
                &t.physical,
                &chk.name,
                &format!("CHECK ({})", with_column.physical_expr(&chk.constraint)),
                lock.clone(),
                true,
            );
        }
        if let Some(r) = &c.references {
            let lock = lock.and(format!("SHARE ROW EXCLUSIVE on {} (brief)", r.table));
            ctx.constraint_not_valid(
                &t.physical,
                &r.name,
                &format!("FOREIGN KEY ({qc}) {}", references_sql(&ctx.resolve_fk(r)?)),
                lock,
                true,
            );
        }
        if let Some(comment) = &c.comment {
            ctx.start(
                Stage::Expand,
                Mode::Transaction,
                format!("COMMENT ON COLUMN {qt}.{qc} IS {}", quote_literal(comment)),
                Lock::none(),
            );
        }
        // `up` computes the column for the old version's writes and for existing rows; a volatile
        // default without `up` fills existing rows once.
        let fill = match (&self.up, &c.default) {
            (Some(up), _) => Some((up.clone(), false)),
            (None, Some(d)) if constant_default.is_none() => Some((d.clone(), true)),
            _ => None,
        };
        if let Some((expr, only_if_null)) = fill {
            ctx.dual_write(DualWrite {
                table: t.physical.clone(),
                column: physical.clone(),
                expr,
                direction: Direction::FromOld,
                insert_only: false,
                only_if_null,
            });
            ctx.backfill(&t.physical, t.backfill_key());
        }
        ctx.rollback(
            Stage::Undo,
            Mode::Transaction,
            format!("ALTER TABLE {qt} DROP COLUMN IF EXISTS {qc}"),
            lock,
        );
        ctx.table_mut(&self.table)?.columns.push(model_column);
        Ok(())
    }
}
