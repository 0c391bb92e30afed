//! The `zdm` command: parses arguments, sets up logging, runs a command and maps its outcome to
//! a documented exit code (see `cli::EXIT_CODES`).

mod cli;
mod commands;
mod output;
mod progress;

use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn init_tracing(global: &cli::Global) {
    let default = match (global.verbose, global.log_format) {
        (0, cli::LogFormat::Text) => "warn",
        (0 | 1, _) => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("ZDM_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match global.log_format {
        cli::LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
        cli::LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .init(),
    }
}

/// Exit code for an error, by what went wrong (documented in `zdm --help`).
fn exit_code(err: &anyhow::Error) -> u8 {
    use zdm_pg::Error as E;
    // `zdm lint` has its own codes: 1 findings, 2 bad input.
    if err
        .downcast_ref::<commands::lint::FindingsFailed>()
        .is_some()
    {
        return 1;
    }
    if err.downcast_ref::<commands::lint::LintUsage>().is_some() {
        return 2;
    }
    if err
        .downcast_ref::<commands::verify::DifferencesFound>()
        .is_some()
    {
        return 1;
    }
    if let Some(e) = err.downcast_ref::<zdm_verify::Error>() {
        return match e {
            zdm_verify::Error::Refused(_) => 7,
            _ => 6,
        };
    }
    if err
        .downcast_ref::<zdm_core::source::SourceErrors>()
        .is_some()
    {
        return 3;
    }
    if let Some(e) = err.downcast_ref::<zdm_move::error::Error>() {
        use zdm_move::error::Error as M;
        return match e {
            M::Refused(_) => 7,
            M::Stopped(_) | M::Value { .. } => 5,
            M::Source(_) | M::Target(_) | M::Ledger(_) => 6,
        };
    }
    match err.downcast_ref::<E>() {
        Some(E::Source(_) | E::Drift(_) | E::Invalid(_)) => 3,
        Some(E::Locked { .. }) => 4,
        Some(E::MigrationFailed { .. }) => 5,
        Some(E::Connect(_) | E::Db(_) | E::Ledger(_)) => 6,
        Some(E::Refused(_)) => 7,
        None => 1,
    }
}

fn main() -> ExitCode {
    // `zdm history | head -1`: a closed pipe ends the process quietly, as it does for other
    // command-line tools, instead of a panic in println!.
    // SAFETY: resetting a signal disposition at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = cli::Cli::parse();
    init_tracing(&cli.global);
    let _failpoints = zdm_pg::failpoint::setup();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // The password, if any, is scrubbed from every error message as a last line of defence.
    let password_scrub =
        commands::Scrubber::new(cli.global.database_url.as_deref(), cli.secret_urls());
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err)
            if err
                .downcast_ref::<commands::lint::FindingsFailed>()
                .is_some()
                || err
                    .downcast_ref::<commands::verify::DifferencesFound>()
                    .is_some() =>
        {
            // The findings were the output; the count goes to stderr.
            eprintln!("{err}");
            ExitCode::from(1)
        }
        Err(err) => {
            let code = exit_code(&err);
            let message = format!("{err:#}");
            eprintln!("error: {}", password_scrub.scrub(&message));
            ExitCode::from(code)
        }
    }
}
