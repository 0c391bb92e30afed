//! The migration state machine. The ledger stores these states; the only code that changes a
//! migration's state (zdm-pg's `ledger::transitions`) asks [`MigrationState::can_become`] first,
//! so an impossible transition is a bug caught at run time, never a silently corrupt ledger.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationState {
    /// A file with no ledger row yet.
    Pending,
    /// A runner is applying it (or died applying it: see `zdm status`).
    Running,
    /// Operation files only: expand done, old and new version schemas both live.
    Expanded,
    /// Contract phase under way.
    Completing,
    Completed,
    RollingBack,
    RolledBack,
    /// Stopped on an error; the ledger row says in which phase and whether it can resume.
    Failed,
}

impl MigrationState {
    pub const ALL: [MigrationState; 8] = [
        Self::Pending,
        Self::Running,
        Self::Expanded,
        Self::Completing,
        Self::Completed,
        Self::RollingBack,
        Self::RolledBack,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Expanded => "expanded",
            Self::Completing => "completing",
            Self::Completed => "completed",
            Self::RollingBack => "rolling_back",
            Self::RolledBack => "rolled_back",
            Self::Failed => "failed",
        }
    }

    /// States in which a runner is (or was, if it died) in the middle of work.
    pub fn is_in_flight(self) -> bool {
        matches!(self, Self::Running | Self::Completing | Self::RollingBack)
    }

    /// The legal transitions. `Failed → Running/Completing/RollingBack` is a resume or a retry of
    /// the phase that failed; `RolledBack → Running` re-applies a migration that was undone.
    pub fn can_become(self, next: MigrationState) -> bool {
        use MigrationState::*;
        matches!(
            (self, next),
            (Pending, Running | Completed)
                | (
                    Running,
                    Running | Expanded | Completed | Failed | RollingBack
                )
                | (Expanded, Completing | RollingBack | Failed | Running)
                | (Completing, Completing | Completed | Failed)
                | (Completed, RollingBack)
                | (RollingBack, RollingBack | RolledBack | Failed)
                | (RolledBack, Running)
                | (Failed, Running | Completing | RollingBack)
        )
    }
}

impl fmt::Display for MigrationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MigrationState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown migration state `{s}`"))
    }
}

/// The phase a piece of work belongs to; events and failures are tagged with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Ledger and runner housekeeping (init, lock, repair, baseline).
    Ledger,
    /// Applying a plain SQL migration.
    Apply,
    /// Expand: additive DDL and the new version schema.
    Start,
    Backfill,
    /// Contract: cleanup of the old version.
    Complete,
    Rollback,
    /// `zdm move`: copying and following another database.
    Move,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ledger => "ledger",
            Self::Apply => "apply",
            Self::Start => "start",
            Self::Backfill => "backfill",
            Self::Complete => "complete",
            Self::Rollback => "rollback",
            Self::Move => "move",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Phase {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Self::Ledger,
            Self::Apply,
            Self::Start,
            Self::Backfill,
            Self::Complete,
            Self::Rollback,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
        .ok_or_else(|| format!("unknown phase `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip() {
        for st in MigrationState::ALL {
            assert_eq!(st.as_str().parse::<MigrationState>().unwrap(), st);
        }
    }

    #[test]
    fn completed_cannot_go_back_to_running_directly() {
        assert!(!MigrationState::Completed.can_become(MigrationState::Running));
        assert!(MigrationState::Failed.can_become(MigrationState::Running));
        assert!(!MigrationState::RolledBack.can_become(MigrationState::Completed));
    }
}
