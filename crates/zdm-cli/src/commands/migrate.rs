//! The writing commands: migrate, baseline, repair.

use super::Context;
use crate::output;
use zdm_pg::runner::{baseline as bl, migrate as mg};

pub async fn migrate(ctx: &Context, to: Option<&str>, complete: bool) -> anyhow::Result<()> {
    let files = ctx.files()?;
    let mut session = ctx.session("migrate").await?;
    let progress = crate::progress::Progress::new(ctx.global.json);
    let opts = mg::MigrateOptions {
        engine: ctx.engine(),
        complete_last: complete,
        observer: &progress,
    };
    let report = mg::migrate(&mut session, &files, to, &opts).await?;
    if ctx.global.json {
        return output::json(&report);
    }
    for id in &report.applied {
        let how = if report.resumed.contains(id) {
            "resumed and applied"
        } else {
            "applied"
        };
        println!("{how} {id}");
    }
    if report.applied.is_empty() {
        println!(
            "nothing to apply ({} migrations already applied)",
            report.already_applied
        );
    }
    Ok(())
}

pub async fn baseline(ctx: &Context, id: &str) -> anyhow::Result<()> {
    let files = ctx.files()?;
    let mut session = ctx.session("baseline").await?;
    let recorded = bl::baseline(&mut session, &files, id).await?;
    if ctx.global.json {
        return output::json(&serde_json::json!({ "baselined": recorded }));
    }
    println!(
        "recorded {} migrations as applied, up to {id}",
        recorded.len()
    );
    Ok(())
}

pub async fn repair(ctx: &Context) -> anyhow::Result<()> {
    let files = ctx.files()?;
    let mut session = ctx.session("repair").await?;
    let repaired = bl::repair(&mut session, &files).await?;
    if ctx.global.json {
        return output::json(&serde_json::json!({ "repaired": repaired }));
    }
    if repaired.is_empty() {
        println!("nothing to repair: every applied file matches the ledger");
    }
    for id in repaired {
        println!("accepted the edited file of {id}");
    }
    Ok(())
}
