//! set_replica_identity: catalog-only, applied at start; rollback restores the default.

use crate::ident::quote_ident;
use crate::operations::SetReplicaIdentity;
use crate::planner::{Mode, PlanContext, PlanOperation, Stage};

impl PlanOperation for SetReplicaIdentity {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        let t = ctx.table(&self.table)?.clone();
        let qt = ctx.qt(&t.physical);
        let identity = match self.identity.kind.to_ascii_lowercase().as_str() {
            "full" => "FULL".to_string(),
            "nothing" => "NOTHING".to_string(),
            "default" => "DEFAULT".to_string(),
            _ => {
                let index = self.identity.index.as_deref().unwrap_or_default();
                if !t.indexes.iter().any(|i| i.name == index) {
                    return Err(format!(
                        "index `{index}` does not exist on table `{}`",
                        self.table
                    ));
                }
                format!("USING INDEX {}", quote_ident(index))
            }
        };
        let lock = ctx.brief_exclusive(&t.physical);
        ctx.start(
            Stage::Expand,
            Mode::Transaction,
            format!("ALTER TABLE {qt} REPLICA IDENTITY {identity}"),
            lock.clone(),
        );
        ctx.rollback(
            Stage::Undo,
            Mode::Transaction,
            format!("ALTER TABLE {qt} REPLICA IDENTITY DEFAULT"),
            lock,
        );
        Ok(())
    }
}
