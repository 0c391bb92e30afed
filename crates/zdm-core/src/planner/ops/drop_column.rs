//! drop_column: the new version no longer sees the column; `down` fills it for rows the new
//! version inserts. At complete the column is archived (renamed, NOT NULL dropped: catalog-only),
//! not dropped, so nothing is lost at once.

use crate::ident::quote_ident;
use crate::operations::DropColumn;
use crate::planner::context::truncate63;
use crate::planner::triggers::{migration_tag, Direction, DualWrite};
use crate::planner::{Lock, LockMode};
use crate::planner::{Mode, PlanContext, PlanOperation, Stage};

/// The name an archived column gets.
pub fn archived_column(migration_id: &str, column: &str) -> String {
    truncate63(format!(
        "_zdm_archived_{}_{column}",
        migration_tag(migration_id)
    ))
}

impl PlanOperation for DropColumn {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        let t = ctx.table(&self.table)?.clone();
        let col = t.require_column(&self.column)?.clone();
        if ctx.duplicated.iter().any(|d| d.temp == col.physical) {
            return Err(format!(
                "column `{}` is changed by an earlier operation of this migration; drop it without changing it first",
                self.column
            ));
        }
        let qt = ctx.qt(&t.physical);
        let qc = quote_ident(&col.physical);
        let lock = ctx.brief_exclusive(&t.physical);
        if ctx.created.contains(&self.table) {
            ctx.start(
                Stage::Expand,
                Mode::Transaction,
                format!("ALTER TABLE {qt} DROP COLUMN {qc}"),
                Lock::new(LockMode::None, "the table is new"),
            );
        } else {
            if t.primary_key.contains(&col.physical) {
                return Err(format!(
                    "column `{}` is part of the primary key",
                    self.column
                ));
            }
            if !col.nullable && col.default.is_none() && self.down.is_none() {
                return Err(format!(
                    "column `{}` is NOT NULL without a default: give `down` so rows the new version inserts can fill it",
                    self.column
                ));
            }
            if let Some(down) = &self.down {
                ctx.dual_write(DualWrite {
                    table: t.physical.clone(),
                    column: col.physical.clone(),
                    expr: down.clone(),
                    direction: Direction::FromNew,
                    insert_only: true,
                    only_if_null: false,
                });
            }
            let archived = quote_ident(&archived_column(&ctx.target.migration_id, &self.column));
            ctx.complete(
                Stage::Contract,
                Mode::Transaction,
                format!("ALTER TABLE {qt} RENAME COLUMN {qc} TO {archived}"),
                lock.clone(),
            );
            if !col.nullable {
                ctx.complete(
                    Stage::Contract,
                    Mode::Transaction,
                    format!("ALTER TABLE {qt} ALTER COLUMN {archived} DROP NOT NULL"),
                    lock.clone(),
                );
            }
        }
        ctx.table_mut(&self.table)?
            .columns
            .retain(|c| c.name != self.column);
        Ok(())
    }
}
