//! drop_table: the new version no longer sees the table; at complete it moves to the archive
//! schema (catalog-only) instead of being dropped, so its data stays until purged.

use crate::ident::quote_ident;
use crate::operations::DropTable;
use crate::planner::context::truncate63;
use crate::planner::triggers::migration_tag;
use crate::planner::{Lock, LockMode};
use crate::planner::{Mode, PlanContext, PlanOperation, Stage};

/// Schema holding archived tables: `<ledger schema>_archive`.
pub fn archive_schema(ledger_schema: &str) -> String {
    truncate63(format!("{ledger_schema}_archive"))
}

impl PlanOperation for DropTable {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        let t = ctx.table(&self.name)?.clone();
        let qt = ctx.qt(&t.physical);
        if ctx.created.remove(&self.name) {
            ctx.start(
                Stage::Expand,
                Mode::Transaction,
                format!("DROP TABLE {qt}"),
                Lock::new(LockMode::None, "the table is new"),
            );
        } else {
            let archive = archive_schema(&ctx.target.ledger_schema);
            let archived = truncate63(format!(
                "{}_{}",
                migration_tag(&ctx.target.migration_id),
                t.physical
            ));
            let lock = ctx.brief_exclusive(&t.physical);
            ctx.complete(
                Stage::Contract,
                Mode::Transaction,
                format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(&archive)),
                Lock::none(),
            );
            ctx.complete(
                Stage::Contract,
                Mode::Transaction,
                format!("ALTER TABLE {qt} RENAME TO {}", quote_ident(&archived)),
                lock.clone(),
            );
            ctx.complete(
                Stage::Contract,
                Mode::Transaction,
                format!(
                    "ALTER TABLE {} SET SCHEMA {}",
                    ctx.qt(&archived),
                    quote_ident(&archive)
                ),
                lock,
            );
        }
        ctx.new.tables.remove(&self.name);
        Ok(())
    }
}
