//! Drift between the migrations directory and the ledger: applied files edited afterwards,
//! applied migrations whose file is gone, and new files that sort before what is already applied.

use crate::error::Error;
use crate::ledger::MigrationRecord;
use serde::Serialize;
use std::collections::HashMap;
use zdm_core::source::MigrationFile;
use zdm_core::state::MigrationState;

#[derive(Debug, Default, Serialize)]
pub struct Drift {
    /// (id, checksum in the ledger, checksum of the file now)
    pub edited: Vec<(String, String, String)>,
    pub missing_files: Vec<String>,
    /// (pending id, the applied id it sorts before)
    pub out_of_order: Vec<(String, String)>,
}

/// Whether the file of a migration in this state must still match what was applied. A failed or
/// rolled-back migration may be fixed; an interrupted one is checked where it resumes.
fn must_match(state: MigrationState) -> bool {
    matches!(
        state,
        MigrationState::Completed
            | MigrationState::Expanded
            | MigrationState::Completing
            | MigrationState::RollingBack
    )
}

pub fn check(files: &[MigrationFile], records: &[MigrationRecord]) -> Drift {
    let by_id: HashMap<&str, &MigrationRecord> =
        records.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut drift = Drift::default();
    for f in files {
        if let Some(r) = by_id.get(f.id.as_str()) {
            if must_match(r.state) && r.checksum != f.checksum {
                drift
                    .edited
                    .push((f.id.clone(), r.checksum.clone(), f.checksum.clone()));
            }
        }
    }
    for r in records {
        if r.state != MigrationState::RolledBack && !files.iter().any(|f| f.id == r.id) {
            drift.missing_files.push(r.id.clone());
        }
    }
    let last_applied = files
        .iter()
        .rev()
        .find(|f| {
            by_id
                .get(f.id.as_str())
                .is_some_and(|r| r.state != MigrationState::RolledBack)
        })
        .map(|f| f.id.clone());
    if let Some(last) = last_applied {
        for f in files.iter().take_while(|f| f.id < last) {
            if by_id
                .get(f.id.as_str())
                .is_none_or(|r| r.state == MigrationState::RolledBack)
            {
                drift.out_of_order.push((f.id.clone(), last.clone()));
            }
        }
    }
    drift
}

impl Drift {
    pub fn is_empty(&self) -> bool {
        self.edited.is_empty() && self.missing_files.is_empty() && self.out_of_order.is_empty()
    }

    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (id, old, new) in &self.edited {
            out.push(format!(
                "{id}: file edited after it was applied (checksum {} in the ledger, {} now); \
                 restore it, or run `zdm repair` to accept the edit",
                &old[..12.min(old.len())],
                &new[..12.min(new.len())]
            ));
        }
        for id in &self.missing_files {
            out.push(format!(
                "{id}: applied, but its file is missing from the migrations directory"
            ));
        }
        for (id, last) in &self.out_of_order {
            out.push(format!("{id}: not applied, but sorts before the applied migration {last}; rename it to run after"));
        }
        out
    }

    pub fn into_result(self) -> Result<(), Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::Drift(self.messages().join("\n")))
        }
    }
}
