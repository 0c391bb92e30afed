//! rename_table: the new version's view carries the new name; the table is renamed at complete.

use crate::ident::quote_ident;
use crate::operations::RenameTable;
use crate::planner::{Mode, PlanContext, PlanOperation, Stage};

impl PlanOperation for RenameTable {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        let mut t = ctx.table(&self.from)?.clone();
        if ctx.new.table(&self.to).is_some() {
            return Err(format!("table `{}` already exists", self.to));
        }
        let sql = format!(
            "ALTER TABLE {} RENAME TO {}",
            ctx.qt(&t.physical),
            quote_ident(&self.to)
        );
        if ctx.created.remove(&self.from) {
            ctx.start(
                Stage::Expand,
                Mode::Transaction,
                sql,
                "none: the table is new",
            );
            t.physical = self.to.clone();
            ctx.created.insert(self.to.clone());
            ctx.rollback(
                Stage::Undo,
                Mode::Transaction,
                format!("DROP TABLE IF EXISTS {}", ctx.qt(&self.to)),
                "ACCESS EXCLUSIVE on the new table",
            );
        } else {
            let lock = ctx.brief_exclusive(&t.physical);
            ctx.complete(Stage::Contract, Mode::Transaction, sql, lock);
            ctx.mapping(&self.to, &t.physical);
        }
        ctx.new.tables.remove(&self.from);
        t.name = self.to.clone();
        ctx.new.tables.insert(self.to.clone(), t);
        Ok(())
    }
}
