//! `zdm baseline <id>` records an existing database as already at migration `id`, and
//! `zdm repair` accepts the new checksum of applied files that were edited.

use super::{drift, Session};
use crate::error::{Error, Result};
use crate::ledger::transitions::RunStart;
use zdm_core::source::MigrationFile;

/// Record every migration up to and including `id` as applied. Returns the ids recorded.
pub async fn baseline(
    session: &mut Session,
    files: &[MigrationFile],
    id: &str,
) -> Result<Vec<String>> {
    session.lock_for_writing().await?;
    let pos = files.iter().position(|f| f.id == id).ok_or_else(|| {
        Error::Refused(format!("no migration `{id}` in the migrations directory"))
    })?;
    let records = session.ledger.records(&session.client).await?;
    if let Some(later) = records
        .iter()
        .find(|r| files[pos + 1..].iter().any(|f| f.id == r.id))
    {
        return Err(Error::Refused(format!(
            "cannot baseline at {id}: the later migration {} is already in the ledger",
            later.id
        )));
    }
    let mut recorded = Vec::new();
    let mut parent: Option<&str> = None;
    for f in &files[..=pos] {
        if !records.iter().any(|r| r.id == f.id) {
            let run = RunStart {
                id: &f.id,
                checksum: &f.checksum,
                kind: f.kind().as_str(),
                migration: f.to_json(),
                parent,
                version_schema: None,
                plan: None,
            };
            session
                .ledger
                .record_baseline(&session.client, &run)
                .await?;
            recorded.push(f.id.clone());
        }
        parent = Some(&f.id);
    }
    Ok(recorded)
}

/// Accept the current checksum of every applied file that was edited. Returns the ids repaired.
pub async fn repair(session: &mut Session, files: &[MigrationFile]) -> Result<Vec<String>> {
    session.lock_for_writing().await?;
    let records = session.ledger.records(&session.client).await?;
    let drift = drift::check(files, &records);
    let mut repaired = Vec::new();
    for (id, old, new) in &drift.edited {
        session
            .ledger
            .accept_checksum(&session.client, id, old, new)
            .await?;
        repaired.push(id.clone());
    }
    Ok(repaired)
}
