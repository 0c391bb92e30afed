//! sql: raw SQL, run at start (or at complete with `onComplete`), `down` at rollback. Statements
//! PostgreSQL refuses inside a transaction (CONCURRENTLY) run on their own. The new version's
//! views are built from the catalog after the expand, so tables the SQL creates appear in them.

use crate::operations::RawSql;
use crate::planner::{Mode, PlanContext, PlanOperation, Stage};
use crate::sql::split_statements;

fn steps(text: &str) -> Vec<(String, Mode)> {
    split_statements(text)
        .into_iter()
        .map(|s| {
            let mode = if s.must_run_outside_transaction() {
                Mode::NoTransaction
            } else {
                Mode::Transaction
            };
            (s.text, mode)
        })
        .collect()
}

impl PlanOperation for RawSql {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        let lock = "as the SQL takes (raw SQL: check it with `zdm lint`)";
        for (sql, mode) in steps(&self.up) {
            if self.on_complete {
                let stage = if mode == Mode::NoTransaction {
                    Stage::ContractConcurrently
                } else {
                    Stage::Contract
                };
                ctx.complete(stage, mode, sql, lock);
            } else {
                let stage = if mode == Mode::NoTransaction {
                    Stage::ExpandConcurrently
                } else {
                    Stage::Expand
                };
                ctx.start(stage, mode, sql, lock);
            }
        }
        if !self.on_complete {
            if let Some(down) = self.down.as_deref().filter(|d| !d.trim().is_empty()) {
                // Rollback steps run in reverse, so reverse the statements to keep their order.
                for (sql, mode) in steps(down).into_iter().rev() {
                    let stage = if mode == Mode::NoTransaction {
                        Stage::UndoConcurrently
                    } else {
                        Stage::Undo
                    };
                    ctx.rollback(stage, mode, sql, lock);
                }
            }
        }
        Ok(())
    }
}
