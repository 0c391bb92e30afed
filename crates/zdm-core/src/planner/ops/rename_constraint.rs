//! rename_constraint: a catalog-only rename at complete, as in pgroll: until then both versions
//! (and the application code that names the constraint) keep seeing the old name, and a
//! rollback has nothing to undo.

use crate::ident::quote_ident;
use crate::operations::RenameConstraint;
use crate::planner::{Mode, PlanContext, PlanOperation, Stage};

impl PlanOperation for RenameConstraint {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        let t = ctx.table(&self.table)?.clone();
        if t.constraint(&self.from).is_none() {
            return Err(format!(
                "constraint `{}` does not exist on table `{}`",
                self.from, self.table
            ));
        }
        if t.constraint(&self.to).is_some() {
            return Err(format!(
                "constraint `{}` already exists on table `{}`",
                self.to, self.table
            ));
        }
        let qt = ctx.qt(&t.physical);
        let lock = ctx.brief_exclusive(&t.physical);
        // Idempotent, so a contract resumed after this step committed runs it again harmlessly.
        ctx.complete(
            Stage::Contract,
            Mode::Transaction,
            format!(
                "DO $zdm$ BEGIN IF EXISTS (SELECT FROM pg_constraint WHERE conrelid = '{}'::regclass AND conname = '{}') THEN ALTER TABLE {qt} RENAME CONSTRAINT {} TO {}; END IF; END $zdm$",
                qt.replace('\'', "''"),
                self.from.replace('\'', "''"),
                quote_ident(&self.from),
                quote_ident(&self.to)
            ),
            lock,
        );
        ctx.constraint_renamed(&t.physical, &self.from, &self.to);
        if let Some(c) = ctx
            .table_mut(&self.table)?
            .constraints
            .iter_mut()
            .find(|c| c.name == self.from)
        {
            c.name = self.to.clone();
        }
        Ok(())
    }
}
