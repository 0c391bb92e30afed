//! One function per command; each returns `anyhow::Result` whose error `main` maps to an exit code.

mod engine;
mod history;
pub mod lint;
mod lint_trace;
mod migrate;
mod moving;
mod serve;
mod status;
pub mod verify;

use crate::cli::{Cli, Command, Global};
use crate::output;
use anyhow::anyhow;
use zdm_core::source::{self, MigrationFile};
use zdm_pg::{ConnectionSpec, LockPolicy, Session};

/// Scrubs the database passwords (target and, for `zdm move`, source) out of any text shown.
pub struct Scrubber(Option<ConnectionSpec>, Vec<String>);

impl Scrubber {
    pub fn new(url: Option<&str>, others: Vec<String>) -> Self {
        let mut secrets = Vec::new();
        for u in &others {
            if let Ok(parsed) = url::Url::parse(u) {
                if let Some(p) = parsed.password().filter(|p| !p.is_empty()) {
                    secrets.push(p.to_string());
                    if let Ok(d) = std::str::from_utf8(&percent_decode(p)) {
                        secrets.push(d.to_string());
                    }
                }
            }
        }
        let mut pg = url.and_then(|u| ConnectionSpec::parse(u).ok());
        if pg.is_none() {
            pg = others.iter().find_map(|u| {
                ConnectionSpec::parse(u)
                    .ok()
                    .filter(|_| u.starts_with("postgres"))
            });
        }
        Scrubber(pg, secrets)
    }
    pub fn scrub(&self, text: &str) -> String {
        let mut out = match &self.0 {
            Some(spec) => spec.scrub(text),
            None => text.to_string(),
        };
        for s in &self.1 {
            out = out.replace(s.as_str(), "***");
        }
        out
    }
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

pub struct Context {
    pub global: Global,
}

impl Context {
    pub fn spec(&self) -> anyhow::Result<ConnectionSpec> {
        let url = self
            .global
            .database_url
            .as_deref()
            .ok_or_else(|| anyhow!("no database: pass --database-url or set DATABASE_URL"))?;
        Ok(ConnectionSpec::parse(url).map_err(zdm_pg::Error::from)?)
    }

    pub fn policy(&self) -> LockPolicy {
        LockPolicy {
            lock_timeout: self.global.lock_timeout,
            max_attempts: self.global.lock_retries.max(1),
            max_total: self.global.lock_retry_max,
            ..LockPolicy::default()
        }
    }

    pub fn engine(&self) -> zdm_pg::runner::operations::EngineOptions {
        zdm_pg::runner::operations::EngineOptions {
            target_schema: self
                .global
                .target_schema
                .clone()
                .unwrap_or_else(|| "public".into()),
            backfill: zdm_pg::backfill::BackfillConfig {
                target_batch: self.global.batch_target,
                delay: self.global.batch_delay,
                busy_nice: self.global.nice_ratio.max(0.0),
                throttle: zdm_pg::throttle::ThrottleConfig {
                    max_replica_lag: Some(self.global.max_replica_lag).filter(|d| !d.is_zero()),
                    query: self.global.throttle_query.clone(),
                    flag_file: self.global.throttle_flag_file.clone(),
                    ..Default::default()
                },
                ..Default::default()
            },
        }
    }

    pub async fn session(&self, command: &str) -> anyhow::Result<Session> {
        Ok(Session::open(&self.spec()?, &self.global.schema, self.policy(), command).await?)
    }

    /// The migrations of `--dir`, every problem reported at once.
    pub fn files(&self) -> anyhow::Result<Vec<MigrationFile>> {
        Ok(source::load_dir(&self.global.dir)?)
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = Context { global: cli.global };
    let _metrics = serve::metrics_listen(&ctx, &cli.command).await?;
    match cli.command {
        Command::Init => init(&ctx).await,
        Command::New { name, sql } => new(&ctx, &name, sql),
        Command::Validate => validate(&ctx).await,
        Command::Status => status::status(&ctx).await,
        Command::History { migration, limit } => {
            history::history(&ctx, migration.as_deref(), limit).await
        }
        Command::Migrate {
            to,
            complete,
            allow_unsafe,
        } => migrate::migrate(&ctx, to.as_deref(), complete, allow_unsafe).await,
        Command::Rollback { id } => engine::rollback(&ctx, id.as_deref()).await,
        Command::Start { file, complete } => engine::start(&ctx, &file, complete).await,
        Command::Complete {
            id,
            min_expanded,
            in_use_window,
            old_writes_window,
            force,
        } => {
            let session = ctx.session("complete").await?;
            if let Some(min) = min_expanded {
                zdm_pg::runner::operations::check_soak(&session, id.as_deref(), min).await?;
            }
            zdm_pg::runner::in_use::check_old_version_unused(
                &session,
                id.as_deref(),
                zdm_pg::runner::in_use::Windows {
                    locks: in_use_window,
                    writes: old_writes_window,
                },
                force,
            )
            .await?;
            drop(session);
            engine::complete(&ctx, id.as_deref()).await
        }
        Command::Resume => engine::resume(&ctx).await,
        Command::Plan { file } => engine::plan(&ctx, &file).await,
        Command::Latest { what } => engine::latest(&ctx, what).await,
        Command::Purge {
            older_than,
            dry_run,
        } => engine::purge(&ctx, older_than, dry_run).await,
        Command::Baseline { id } => migrate::baseline(&ctx, &id).await,
        Command::Repair => migrate::repair(&ctx).await,
        Command::Throttle { switch, reason } => {
            migrate::throttle(
                &ctx,
                switch == crate::cli::ThrottleSwitch::On,
                reason.as_deref(),
            )
            .await
        }
        Command::Lint(args) if args.list_rules => {
            lint::list_rules();
            Ok(())
        }
        Command::Lint(args) => lint::lint(&ctx, &args).await,
        Command::Move(cmd) => moving::run(&ctx, cmd).await,
        Command::Verify(args) => verify::verify(&ctx, &args).await,
        Command::Serve(args) => serve::serve(&ctx, &args).await,
    }
}

async fn init(ctx: &Context) -> anyhow::Result<()> {
    let mut session = ctx.session("init").await?;
    let outcome = session.lock_for_writing().await?;
    if ctx.global.json {
        return output::json(&outcome);
    }
    match outcome {
        zdm_pg::ledger::InitOutcome::Created { version } => {
            println!(
                "created ledger in schema `{}` (version {version})",
                ctx.global.schema
            )
        }
        zdm_pg::ledger::InitOutcome::Upgraded { from, to } => {
            println!(
                "upgraded ledger in schema `{}` from version {from} to {to}",
                ctx.global.schema
            )
        }
        zdm_pg::ledger::InitOutcome::UpToDate { version } => {
            println!(
                "ledger in schema `{}` is up to date (version {version})",
                ctx.global.schema
            )
        }
    }
    Ok(())
}

fn new(ctx: &Context, name: &str, sql: bool) -> anyhow::Result<()> {
    let path = source::new_migration_file(&ctx.global.dir, name, sql, chrono::Utc::now())
        .map_err(|e| anyhow!(e))?;
    if ctx.global.json {
        return output::json(&serde_json::json!({ "path": path }));
    }
    println!("{}", path.display());
    Ok(())
}

async fn validate(ctx: &Context) -> anyhow::Result<()> {
    let files = ctx.files()?;
    let mut drift_checked = false;
    if ctx.global.database_url.is_some() {
        let session = ctx.session("validate").await?;
        if session.ledger.version(&session.client).await?.is_some() {
            let records = session.ledger.records(&session.client).await?;
            zdm_pg::runner::drift::check(&files, &records).into_result()?;
            drift_checked = true;
        }
    }
    if ctx.global.json {
        return output::json(
            &serde_json::json!({ "valid": true, "migrations": files.len(), "ledger_checked": drift_checked }),
        );
    }
    let ledger_note = if drift_checked {
        "; applied files match the ledger"
    } else {
        ""
    };
    println!("{} migrations valid{ledger_note}", files.len());
    Ok(())
}
