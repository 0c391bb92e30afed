//! drop_index: the old version may still rely on the index, so it goes at complete, concurrently.

use crate::ident::quote_ident;
use crate::operations::DropIndex;
use crate::planner::{Lock, LockMode};
use crate::planner::{Mode, PlanContext, PlanOperation, Stage};

impl PlanOperation for DropIndex {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        let table = ctx
            .new
            .tables
            .values()
            .find(|t| t.indexes.iter().any(|i| i.name == self.name))
            .map(|t| t.name.clone())
            .ok_or_else(|| format!("index `{}` does not exist", self.name))?;
        let schema = ctx.target.schema.clone();
        ctx.complete(
            Stage::ContractConcurrently,
            Mode::NoTransaction,
            format!(
                "DROP INDEX CONCURRENTLY IF EXISTS {}.{}",
                quote_ident(&schema),
                quote_ident(&self.name)
            ),
            Lock::new(
                LockMode::ShareUpdateExclusive,
                format!("{schema}.{table} (reads and writes continue)"),
            ),
        );
        ctx.table_mut(&table)?
            .indexes
            .retain(|i| i.name != self.name);
        Ok(())
    }
}
