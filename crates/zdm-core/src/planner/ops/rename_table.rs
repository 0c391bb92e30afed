//! rename_table: the new version's view carries the new name; the physical table keeps its name
//! until the names settle (end of start for a table this migration creates, else complete).

use crate::operations::RenameTable;
use crate::planner::{PlanContext, PlanOperation};

impl PlanOperation for RenameTable {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        let mut t = ctx.table(&self.from)?.clone();
        if ctx.new.table(&self.to).is_some() {
            return Err(format!("table `{}` already exists", self.to));
        }
        if ctx.created.remove(&self.from) {
            ctx.created.insert(self.to.clone());
        }
        ctx.new.tables.remove(&self.from);
        t.name = self.to.clone();
        ctx.new.tables.insert(self.to.clone(), t);
        Ok(())
    }
}
