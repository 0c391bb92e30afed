//! rename_column: the new version's view shows the column under its new name; the physical
//! column is renamed at complete, when the old version is gone.

use crate::ident::quote_ident;
use crate::operations::RenameColumn;
use crate::planner::{Mode, PlanContext, PlanOperation, Stage};

/// Rename `table.from` to `to` for the new version (shared with alter_column's `name`).
pub fn rename(ctx: &mut PlanContext, table: &str, from: &str, to: &str) -> Result<(), String> {
    let t = ctx.table(table)?.clone();
    let col = t.require_column(from)?.clone();
    if t.column(to).is_some() {
        return Err(format!("column `{to}` already exists in table `{table}`"));
    }
    let qt = ctx.qt(&t.physical);
    let sql = format!(
        "ALTER TABLE {qt} RENAME COLUMN {} TO {}",
        quote_ident(from),
        quote_ident(to)
    );
    if ctx.created.contains(table) {
        ctx.start(
            Stage::Expand,
            Mode::Transaction,
            sql,
            "none: the table is new",
        );
        if let Some(c) = ctx.table_mut(table)?.column_mut(from) {
            c.name = to.to_string();
            c.physical = to.to_string();
        }
        return Ok(());
    }
    let lock = ctx.brief_exclusive(&t.physical);
    ctx.complete(Stage::Contract, Mode::Transaction, sql, lock);
    let m = ctx.mapping(table, &t.physical);
    match m.renamed.iter_mut().find(|(l, _)| l == from) {
        Some(entry) => entry.0 = to.to_string(),
        None => m.renamed.push((to.to_string(), col.physical.clone())),
    }
    // A duplicated column keeps hiding the old physical column under its original name.
    if let Some(c) = ctx.table_mut(table)?.column_mut(from) {
        c.name = to.to_string();
    }
    Ok(())
}

impl PlanOperation for RenameColumn {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        rename(ctx, &self.table, &self.from, &self.to)
    }
}
