//! `zdm history`: the audit log.

use super::Context;
use crate::output;

pub async fn history(
    ctx: &Context,
    migration: Option<&str>,
    limit: Option<i64>,
) -> anyhow::Result<()> {
    let session = ctx.session("history").await?;
    session.ledger.require(&session.client).await?;
    let events = session
        .ledger
        .events(&session.client, migration, limit)
        .await?;
    if ctx.global.json {
        return output::json(&events);
    }
    let rows = events
        .iter()
        .map(|e| {
            let details = if e.details.as_object().is_some_and(|o| o.is_empty()) {
                String::new()
            } else {
                e.details.to_string()
            };
            vec![
                e.at.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
                e.migration_id.clone().unwrap_or_default(),
                e.phase.clone(),
                e.level.clone(),
                e.message.clone(),
                details,
            ]
        })
        .collect();
    println!(
        "{}",
        output::table(
            &[
                "at (UTC)",
                "migration",
                "phase",
                "level",
                "message",
                "details"
            ],
            rows
        )
    );
    Ok(())
}
