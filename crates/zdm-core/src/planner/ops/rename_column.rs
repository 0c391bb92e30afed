//! rename_column: the new version's view shows the column under its new name; the physical
//! column keeps its name until the names settle (see `planner::settle`).

use crate::ident::quote_ident;
use crate::operations::RenameColumn;
use crate::planner::rewrite::replace_columns_in_expr;
use crate::planner::triggers::Direction;
use crate::planner::{PlanContext, PlanOperation};

/// Rename `table.from` to `to` for the new version (shared with alter_column's `name`).
pub fn rename(ctx: &mut PlanContext, table: &str, from: &str, to: &str) -> Result<(), String> {
    let t = ctx.table(table)?;
    t.require_column(from)?;
    if t.column(to).is_some() {
        return Err(format!("column `{to}` already exists in table `{table}`"));
    }
    let physical_table = t.physical.clone();
    if let Some(c) = ctx.table_mut(table)?.column_mut(from) {
        c.name = to.to_string();
    }
    // `down` SQL of earlier operations is in the new version's names, which now say `to`.
    let with = [(from.to_string(), quote_ident(to))];
    for w in ctx
        .dual_writes
        .iter_mut()
        .filter(|w| w.table == physical_table && w.direction == Direction::FromNew)
    {
        w.expr = replace_columns_in_expr(&w.expr, &with);
    }
    Ok(())
}

impl PlanOperation for RenameColumn {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        rename(ctx, &self.table, &self.from, &self.to)
    }
}
