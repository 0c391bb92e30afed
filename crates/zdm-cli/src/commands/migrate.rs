//! The writing commands: migrate, baseline, repair.

use super::Context;
use crate::output;
use zdm_core::source::{MigrationBody, MigrationFile};
use zdm_core::state::MigrationState;
use zdm_pg::runner::{baseline as bl, migrate as mg};

pub async fn migrate(
    ctx: &Context,
    to: Option<&str>,
    complete: bool,
    allow_unsafe: bool,
) -> anyhow::Result<()> {
    let files = ctx.files()?;
    let mut session = ctx.session("migrate").await?;
    if !allow_unsafe {
        refuse_unsafe(&session, &files, to).await?;
    }
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

/// Lint the SQL migrations `migrate` is about to run (the ones after the last applied, up to
/// `to`) against the server's version; error-level findings that carry no ignore with a reason
/// refuse the run.
async fn refuse_unsafe(
    session: &zdm_pg::Session,
    files: &[MigrationFile],
    to: Option<&str>,
) -> anyhow::Result<()> {
    let done: Vec<String> = if session.ledger.version(&session.client).await?.is_some() {
        session
            .ledger
            .records(&session.client)
            .await?
            .into_iter()
            .filter(|r| {
                matches!(
                    r.state,
                    MigrationState::Completed | MigrationState::Expanded
                )
            })
            .map(|r| r.id)
            .collect()
    } else {
        Vec::new()
    };
    let last = to.map(str::to_string);
    let pending = |f: &MigrationFile| {
        matches!(f.body, MigrationBody::Sql(_))
            && !done.contains(&f.id)
            && last.as_ref().is_none_or(|l| f.id <= *l)
    };
    if !files.iter().any(pending) {
        return Ok(());
    }
    let version: i32 = session
        .client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await?
        .get(0);
    let opts = zdm_lint::Options::postgres((version / 10000) as u32);
    let findings = zdm_lint::lint_migrations(files, &opts, &pending)
        .map_err(|e| zdm_pg::Error::Invalid(e.to_string()))?;
    let errors: Vec<String> = findings
        .iter()
        .filter(|f| f.severity == zdm_lint::Severity::Error)
        .map(|f| {
            format!(
                "  {}:{}:{}: {} {}",
                f.file, f.line, f.column, f.rule, f.message
            )
        })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(zdm_pg::Error::Refused(format!(
        "zdm lint found {} unsafe statement(s) in pending migrations:\n{}\n\
         Fix them (`zdm lint` shows the safe alternative), mark each with \
         `-- zdm-lint: ignore <rule> -- <reason>`, or pass --allow-unsafe.",
        errors.len(),
        errors.join("\n")
    ))
    .into())
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

pub async fn throttle(ctx: &Context, on: bool, reason: Option<&str>) -> anyhow::Result<()> {
    let session = ctx.session("throttle").await?;
    // No runner lock: the switch is for a runner that holds it. So no upgrade of a ledger a
    // runner may be using; a database without one gets one.
    match session.ledger.version(&session.client).await? {
        None => {
            session.ledger.init(&session.client).await?;
        }
        Some(v) if v < zdm_pg::ledger::schema::LATEST => {
            anyhow::bail!("the ledger is older than this zdm: run `zdm init` first")
        }
        Some(_) => {}
    }
    session
        .ledger
        .set_throttle(&session.client, on, reason)
        .await?;
    if ctx.global.json {
        return output::json(&serde_json::json!({ "throttle": on, "reason": reason }));
    }
    println!(
        "{}",
        if on {
            "throttle on: running backfills wait before their next batch"
        } else {
            "throttle off"
        }
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
