//! `zdm status`.

use super::Context;
use crate::output;

pub async fn status(ctx: &Context) -> anyhow::Result<()> {
    // Broken files must not hide the ledger: report them and show what the ledger knows.
    let files = match ctx.files() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("warning: migration files have problems (showing the ledger only):\n{e}");
            Vec::new()
        }
    };
    let session = ctx.session("status").await?;
    let report = zdm_pg::runner::status::status(&session.client, &session.ledger, &files).await?;
    if ctx.global.json {
        return output::json(&report);
    }
    if report.ledger_version.is_none() {
        println!(
            "no ledger in schema `{}` yet (zdm init or zdm migrate creates it)",
            report.schema
        );
    }
    if let Some(holder) = &report.runner {
        println!("runner active: {holder}");
    }
    let rows = report
        .migrations
        .iter()
        .map(|m| {
            let mut state = m.state.to_string();
            if m.interrupted {
                state.push_str(" (interrupted)");
            }
            if m.baselined {
                state.push_str(" (baseline)");
            }
            let mut note = Vec::new();
            if let Some(e) = &m.last_error {
                note.push(format!(
                    "error in {}: {e}",
                    m.failed_phase.as_deref().unwrap_or("?")
                ));
            }
            for b in m.backfill.iter().filter(|b| !b.finished) {
                let of = b
                    .rows_estimated
                    .map(|t| format!(" of ~{t}"))
                    .unwrap_or_default();
                note.push(format!("backfill {}: {} rows{of}", b.table, b.rows_done));
            }
            if m.state == zdm_core::state::MigrationState::Expanded {
                if let Some(vs) = &m.version_schema {
                    note.push(format!("new version: schema {vs}"));
                }
                if let Some(at) = &m.old_version_last_write_at {
                    note.push(format!(
                        "old version last written {}",
                        at.format("%Y-%m-%d %H:%M:%S UTC")
                    ));
                }
            }
            if let Some(lsn) = &m.restore_lsn {
                match &m.restore_point {
                    Some(p) => note.push(format!("restore point {p} at WAL {lsn}")),
                    None => note.push(format!("WAL {lsn} before the contract")),
                }
            }
            if !m.file_present {
                note.push("file missing".into());
            }
            if m.file_modified {
                note.push("file edited since applied".into());
            }
            if !m.next.is_empty() {
                note.push(m.next.clone());
            }
            vec![
                m.id.clone(),
                m.kind.clone(),
                state,
                output::time(m.started_at),
                output::duration_ms(m.duration_ms),
                m.applied_by.clone().unwrap_or_default(),
                note.join("; "),
            ]
        })
        .collect();
    println!(
        "{}",
        output::table(
            &[
                "migration",
                "kind",
                "state",
                "started (UTC)",
                "took",
                "by",
                "notes"
            ],
            rows
        )
    );
    Ok(())
}
