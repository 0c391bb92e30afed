//! alter_column: a comment changes in place; anything the old version must not see (type,
//! nullability, default, unique, check, references) goes to a duplicated column kept in step by
//! `up`/`down` and swapped in at complete.

use super::columns::references_sql;
use super::duplicate::{duplicate_column, Change};
use super::rename_column::rename;
use crate::ident::{quote_ident, quote_literal};
use crate::operations::AlterColumn;
use crate::planner::context::truncate63;
use crate::planner::Lock;
use crate::planner::{Mode, PlanContext, PlanOperation, Stage};

impl PlanOperation for AlterColumn {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        let t = ctx.table(&self.table)?.clone();
        let col = t.require_column(&self.column)?.clone();
        let qt = ctx.qt(&t.physical);
        let lock = ctx.brief_exclusive(&t.physical);
        let structural = self.data_type.is_some()
            || self.nullable.is_some()
            || self.default.is_some()
            || self.unique.is_some()
            || self.check.is_some()
            || self.references.is_some();

        if ctx.created.contains(&self.table) || !structural {
            // Nothing the old version relies on: change the column directly.
            let qc = quote_ident(&col.physical);
            let mut direct = Vec::new();
            if let Some(ty) = &self.data_type {
                let using = self
                    .up
                    .as_deref()
                    .map(|u| format!(" USING ({u})"))
                    .unwrap_or_default();
                direct.push(format!(
                    "ALTER TABLE {qt} ALTER COLUMN {qc} TYPE {ty}{using}"
                ));
            }
            match self.nullable {
                Some(false) => {
                    direct.push(format!("ALTER TABLE {qt} ALTER COLUMN {qc} SET NOT NULL"))
                }
                Some(true) => {
                    direct.push(format!("ALTER TABLE {qt} ALTER COLUMN {qc} DROP NOT NULL"))
                }
                None => {}
            }
            match &self.default {
                Some(Some(d)) => direct.push(format!(
                    "ALTER TABLE {qt} ALTER COLUMN {qc} SET DEFAULT {d}"
                )),
                Some(None) => {
                    direct.push(format!("ALTER TABLE {qt} ALTER COLUMN {qc} DROP DEFAULT"))
                }
                None => {}
            }
            if let Some(u) = &self.unique {
                direct.push(format!(
                    "ALTER TABLE {qt} ADD CONSTRAINT {} UNIQUE ({qc})",
                    quote_ident(&u.name)
                ));
            }
            if let Some(chk) = &self.check {
                direct.push(format!(
                    "ALTER TABLE {qt} ADD CONSTRAINT {} CHECK ({}){}",
                    quote_ident(&chk.name),
                    t.physical_expr(&chk.constraint),
                    if chk.no_inherit { " NO INHERIT" } else { "" }
                ));
            }
            if let Some(r) = &self.references {
                direct.push(format!(
                    "ALTER TABLE {qt} ADD CONSTRAINT {} FOREIGN KEY ({qc}) {}",
                    quote_ident(&r.name),
                    references_sql(&ctx.resolve_fk(r)?)
                ));
            }
            for sql in direct {
                ctx.start(Stage::Expand, Mode::Transaction, sql, lock.clone());
            }
            if let Some(comment) = &self.comment {
                let value = comment
                    .as_deref()
                    .map(quote_literal)
                    .unwrap_or_else(|| "NULL".into());
                ctx.start(
                    Stage::Expand,
                    Mode::Transaction,
                    format!("COMMENT ON COLUMN {qt}.{qc} IS {value}"),
                    Lock::none(),
                );
                let old = col
                    .comment
                    .as_deref()
                    .map(quote_literal)
                    .unwrap_or_else(|| "NULL".into());
                ctx.rollback(
                    Stage::Undo,
                    Mode::Transaction,
                    format!("COMMENT ON COLUMN {qt}.{qc} IS {old}"),
                    Lock::none(),
                );
            }
            let new_nullable = self.nullable;
            if let Some(c) = ctx.table_mut(&self.table)?.column_mut(&self.column) {
                if let Some(ty) = &self.data_type {
                    c.data_type = ty.clone();
                }
                if let Some(n) = new_nullable {
                    c.nullable = n;
                }
                if let Some(d) = &self.default {
                    c.default = d.clone();
                }
                if let Some(cm) = &self.comment {
                    c.comment = cm.clone();
                }
            }
            if let Some(to) = &self.name {
                rename(ctx, &self.table, &self.column, to)?;
            }
            return Ok(());
        }

        let change = Change {
            data_type: self.data_type.as_deref(),
            nullable: self.nullable,
            default: self.default.as_ref().map(|d| d.as_deref()),
            up: self.up.as_deref(),
            down: self.down.as_deref(),
            without_constraint: None,
        };
        let dup = duplicate_column(ctx, &self.table, &self.column, &change)?;
        let qtemp = quote_ident(&dup.temp);
        let validate_lock = ctx.non_blocking(&t.physical);
        if let Some(u) = &self.unique {
            let idx = truncate63(format!("_zdm_uq_{}", u.name));
            ctx.start(
                Stage::ExpandConcurrently,
                Mode::NoTransaction,
                format!(
                    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {} ON {qt} ({qtemp})",
                    quote_ident(&idx)
                ),
                validate_lock.clone(),
            );
            ctx.complete(
                Stage::Contract,
                Mode::Transaction,
                format!(
                    "ALTER TABLE {qt} ADD CONSTRAINT {} UNIQUE USING INDEX {}",
                    quote_ident(&u.name),
                    quote_ident(&idx)
                ),
                lock.clone(),
            );
        }
        if let Some(chk) = &self.check {
            let expr = ctx.table(&self.table)?.physical_expr(&chk.constraint);
            ctx.constraint_not_valid(
                &t.physical,
                &chk.name,
                &format!(
                    "CHECK ({expr}){}",
                    if chk.no_inherit { " NO INHERIT" } else { "" }
                ),
                lock.clone(),
                true,
            );
        }
        if let Some(r) = &self.references {
            let lock = lock.and(format!("SHARE ROW EXCLUSIVE on {} (brief)", r.table));
            ctx.constraint_not_valid(
                &t.physical,
                &r.name,
                &format!(
                    "FOREIGN KEY ({qtemp}) {}",
                    references_sql(&ctx.resolve_fk(r)?)
                ),
                lock,
                true,
            );
        }
        if let Some(Some(comment)) = &self.comment {
            ctx.start(
                Stage::Expand,
                Mode::Transaction,
                format!(
                    "COMMENT ON COLUMN {qt}.{qtemp} IS {}",
                    quote_literal(comment)
                ),
                Lock::none(),
            );
        }
        if let Some(to) = &self.name {
            rename(ctx, &self.table, &self.column, to)?;
        }
        Ok(())
    }
}
