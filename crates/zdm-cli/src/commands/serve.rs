//! `zdm serve` and `--metrics-listen`: the read-only HTTP view of the ledger (zdm-observe).

use super::Context;
use crate::cli::{Command, MoveCommand, ServeArgs};
use std::time::Duration;
use zdm_observe::health::ReadyPolicy;
use zdm_observe::server::{self, LedgerSource, Running, ServeOptions};
use zdm_pg::{ConnectionSpec, Ledger};

fn source(ctx: &Context, spec: ConnectionSpec) -> LedgerSource {
    // Pending migrations appear when the directory is there and parses; the ledger is shown
    // either way.
    let files = if ctx.global.dir.is_dir() {
        ctx.files().unwrap_or_else(|e| {
            eprintln!("warning: migration files have problems (serving the ledger only):\n{e}");
            Vec::new()
        })
    } else {
        Vec::new()
    };
    LedgerSource {
        spec,
        ledger: Ledger::new(&ctx.global.schema),
        files,
    }
}

pub async fn serve(ctx: &Context, args: &ServeArgs) -> anyhow::Result<()> {
    let opts = ServeOptions {
        listen: args.listen,
        token: ctx.global.token.clone(),
        ready: ReadyPolicy {
            unready_on_failed: !args.ready_ignore_failed,
            max_lag: Some(args.ready_max_lag).filter(|d| !d.is_zero()),
        },
        refresh: args.refresh.max(Duration::from_millis(100)),
    };
    let running = server::start(opts, source(ctx, ctx.spec()?)).await?;
    announce(ctx, &running);
    tokio::select! {
        r = running.task => r??,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

fn announce(ctx: &Context, running: &Running) {
    if ctx.global.json {
        println!(
            "{}",
            serde_json::json!({ "listening": format!("http://{}", running.addr) })
        );
    } else {
        println!("zdm serve: listening on http://{}", running.addr);
    }
}

/// For the long-running commands, `--metrics-listen` starts the same server inside the
/// process (it stops with it). Other commands ignore the option.
pub async fn metrics_listen(ctx: &Context, command: &Command) -> anyhow::Result<Option<Running>> {
    let Some(listen) = ctx.global.metrics_listen else {
        return Ok(None);
    };
    let target = match command {
        Command::Migrate { .. }
        | Command::Start { .. }
        | Command::Resume
        | Command::Complete { .. } => ctx.global.database_url.clone(),
        Command::Move(MoveCommand::Start(a)) | Command::Move(MoveCommand::Resume(a)) => a
            .ends
            .target
            .clone()
            .or_else(|| ctx.global.database_url.clone()),
        Command::Move(MoveCommand::Verify { ends, .. }) => ends
            .target
            .clone()
            .or_else(|| ctx.global.database_url.clone()),
        _ => return Ok(None),
    };
    let Some(url) = target else {
        return Ok(None);
    };
    let spec = ConnectionSpec::parse(&url).map_err(zdm_pg::Error::from)?;
    let opts = ServeOptions {
        listen,
        token: ctx.global.token.clone(),
        ready: ReadyPolicy::default(),
        refresh: Duration::from_secs(1),
    };
    let running = server::start(opts, source(ctx, spec)).await?;
    eprintln!("metrics: listening on http://{}", running.addr);
    Ok(Some(running))
}
