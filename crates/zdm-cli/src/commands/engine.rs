//! The expand/contract commands: start, complete, resume, rollback, plan, latest.

use super::Context;
use crate::cli::LatestWhat;
use crate::output;
use crate::progress::Progress;
use anyhow::anyhow;
use std::path::Path;
use zdm_core::planner::Plan;
use zdm_core::source;
use zdm_pg::runner::operations as ops;
use zdm_pg::runner::rollback as rb;

fn load(path: &Path) -> anyhow::Result<source::MigrationFile> {
    Ok(source::load_file(path)?)
}

pub async fn start(ctx: &Context, path: &Path, complete: bool) -> anyhow::Result<()> {
    let file = load(path)?;
    let mut session = ctx.session("start").await?;
    let progress = Progress::new(ctx.global.json);
    let records = {
        session.lock_for_writing().await?;
        session.ledger.records(&session.client).await?
    };
    let parent = records
        .iter()
        .rev()
        .find(|r| r.state == zdm_core::state::MigrationState::Completed)
        .map(|r| r.id.clone());
    let plan = ops::start(
        &mut session,
        &file,
        parent.as_deref(),
        &ctx.engine(),
        &progress,
    )
    .await?;
    if complete {
        ops::complete(&mut session, Some(&file.id)).await?;
    }
    if ctx.global.json {
        return output::json(&serde_json::json!({
            "migration": file.id,
            "state": if complete { "completed" } else { "expanded" },
            "version_schema": plan.target.version_schema,
        }));
    }
    if complete {
        println!(
            "{} started and completed; version schema {}",
            file.id, plan.target.version_schema
        );
    } else {
        println!(
            "{} expanded: new code uses schema {} (search_path or SET zdm.version); `zdm complete` when the old code is gone",
            file.id, plan.target.version_schema
        );
    }
    Ok(())
}

pub async fn complete(ctx: &Context, id: Option<&str>) -> anyhow::Result<()> {
    let mut session = ctx.session("complete").await?;
    let done = ops::complete(&mut session, id).await?;
    if ctx.global.json {
        return output::json(&serde_json::json!({ "completed": done }));
    }
    println!("completed {done}");
    Ok(())
}

/// Resume whatever the in-flight migration was doing.
pub async fn resume(ctx: &Context) -> anyhow::Result<()> {
    let mut session = ctx.session("resume").await?;
    session.lock_for_writing().await?;
    let records = session.ledger.records(&session.client).await?;
    let r = ops::in_flight(&records)
        .ok_or_else(|| anyhow!("nothing to resume: no operations migration is in flight"))?
        .clone();
    use zdm_core::state::MigrationState as S;
    let phase = r.failed_phase.as_deref();
    // The phase resumed takes the runner lock itself.
    drop(session);
    match r.state {
        S::Completing => return complete(ctx, Some(&r.id)).await,
        S::Failed if phase == Some("complete") => return complete(ctx, Some(&r.id)).await,
        S::RollingBack => return rollback(ctx, Some(&r.id)).await,
        S::Failed if phase == Some("rollback") => return rollback(ctx, Some(&r.id)).await,
        S::Expanded => {
            println!(
                "{} is expanded; nothing to resume (`zdm complete` or `zdm rollback`)",
                r.id
            );
            return Ok(());
        }
        _ => {}
    }
    let files = ctx.files()?;
    let file = files
        .iter()
        .find(|f| f.id == r.id)
        .ok_or_else(|| anyhow!("{} has no file in {}", r.id, ctx.global.dir.display()))?;
    start(ctx, &file.path, false).await
}

pub async fn rollback(ctx: &Context, id: Option<&str>) -> anyhow::Result<()> {
    let mut session = ctx.session("rollback").await?;
    session.lock_for_writing().await?;
    let records = session.ledger.records(&session.client).await?;
    let done = if ops::in_flight(&records).is_some() {
        ops::rollback(&mut session, id).await?
    } else {
        let files = ctx.files()?;
        rb::rollback_sql(&mut session, &files, id).await?
    };
    if ctx.global.json {
        return output::json(&serde_json::json!({ "rolled_back": done }));
    }
    println!("rolled back {done}");
    Ok(())
}

pub async fn plan(ctx: &Context, path: &Path) -> anyhow::Result<()> {
    let file = load(path)?;
    let session = ctx.session("plan").await?;
    let plan: Plan = ops::plan(&session, &file, &ctx.engine()).await?;
    if ctx.global.json {
        return output::json(&plan);
    }
    print!("{}", zdm_core::planner::render::plan_text(&plan));
    Ok(())
}

pub async fn latest(ctx: &Context, what: LatestWhat) -> anyhow::Result<()> {
    let session = ctx.session("latest").await?;
    session.ledger.require(&session.client).await?;
    let records = session.ledger.records(&session.client).await?;
    use zdm_core::state::MigrationState as S;
    let schema = records
        .iter()
        .rev()
        .filter(|r| matches!(r.state, S::Expanded | S::Completed))
        .find_map(|r| r.version_schema.clone())
        .ok_or_else(|| {
            anyhow!("no version schema yet: no operations migration has been started")
        })?;
    let out = match what {
        LatestWhat::Schema => schema.clone(),
        LatestWhat::Url => {
            let url = ctx.global.database_url.as_deref().unwrap_or_default();
            zdm_pg::connect::url_with_search_path(url, &schema)
        }
    };
    if ctx.global.json {
        return output::json(&serde_json::json!({ "schema": schema, "value": out }));
    }
    println!("{out}");
    Ok(())
}

pub async fn purge(
    ctx: &Context,
    older_than: std::time::Duration,
    dry_run: bool,
) -> anyhow::Result<()> {
    let mut session = ctx.session("purge").await?;
    let purged = zdm_pg::runner::purge::purge(
        &mut session,
        ctx.global.target_schema.as_deref().unwrap_or("public"),
        older_than,
        dry_run,
    )
    .await?;
    if ctx.global.json {
        return output::json(&serde_json::json!({ "dry_run": dry_run, "purged": purged }));
    }
    let verb = if dry_run { "would drop" } else { "dropped" };
    for p in &purged {
        println!("{verb} {} (archived by {})", p.object, p.migration);
    }
    if purged.is_empty() {
        println!("nothing to purge");
    }
    Ok(())
}
