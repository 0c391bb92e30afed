//! `sql`: raw SQL, pgroll's escape hatch. zdm cannot make it zero-downtime; `zdm lint` checks it.

use super::check::{given, Problems};
use super::common::is_false;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSql {
    /// Statements run at start (or at complete with `onComplete`).
    pub up: String,
    /// Statements undoing `up` at rollback; they should be idempotent (`IF EXISTS`), as a
    /// failed start is rolled back too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down: Option<String>,
    /// Run `up` at complete instead of start. Nothing can be rolled back after complete, so
    /// `down` is not allowed with it. (pgroll also refuses a `sql` operation without
    /// `onComplete` next to other operations; zdm's planner reads the catalog after the SQL
    /// ran, so it allows it.)
    #[serde(default, rename = "onComplete", skip_serializing_if = "is_false")]
    pub on_complete: bool,
}

impl RawSql {
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut p = Problems::default();
        p.sql("up", &self.up);
        if self.on_complete && given(&self.down).is_some() {
            p.add(
                "`down` is not allowed with `onComplete: true`: nothing can be rolled back after \
                 complete",
            );
        }
        p.finish()
    }
}
