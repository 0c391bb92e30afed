//! Command-line definition (clap derive).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  error (anything not listed below)
  2  usage error (bad arguments)
  3  invalid migrations: a file does not parse or validate, an operation cannot apply to the
     database (unknown table, existing column...), or the directory drifted from the ledger
     (applied file edited or missing, new file ordered before applied ones)
  4  another zdm runner holds the lock on this ledger
  5  a migration failed (the ledger has it as `failed`; `zdm status` says whether it resumes)
  6  cannot connect to the database, or a database error outside a migration
  7  the request was refused (e.g. rollback without a .down.sql, nothing to roll back)";

#[derive(Parser, Debug)]
#[command(name = "zdm", version, about = "Zero-downtime database migrations", after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// URLs given to `zdm move` commands, whose passwords must never be displayed.
    pub fn secret_urls(&self) -> Vec<String> {
        let ends = match &self.command {
            Command::Move(MoveCommand::Plan { ends, .. })
            | Command::Move(MoveCommand::Worker { ends, .. })
            | Command::Move(MoveCommand::Status { ends })
            | Command::Move(MoveCommand::Stop { ends })
            | Command::Move(MoveCommand::Abort { ends, .. })
            | Command::Move(MoveCommand::Verify { ends, .. }) => Some(ends),
            Command::Move(MoveCommand::Start(a)) | Command::Move(MoveCommand::Resume(a)) => {
                Some(&a.ends)
            }
            Command::Verify(v) => {
                return std::iter::once(v.source.clone())
                    .chain(v.target.clone())
                    .chain(v.common.replica.iter().cloned())
                    .collect()
            }
            _ => None,
        };
        ends.map(|e| e.source.iter().chain(e.target.iter()).cloned().collect())
            .unwrap_or_default()
    }
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// PostgreSQL connection URL or key=value string; sslmode=disable|prefer|require|verify-ca|verify-full.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Migrations directory.
    #[arg(long, env = "ZDM_DIR", global = true, default_value = "migrations")]
    pub dir: PathBuf,
    /// Schema holding zdm's ledger.
    #[arg(long, env = "ZDM_SCHEMA", global = true, default_value = "zdm")]
    pub schema: String,
    /// How long any DDL may wait for a lock before backing off and retrying (e.g. 50ms, 2s).
    /// Application statements queue behind a waiting DDL, so this bounds their stall too.
    #[arg(long, env = "ZDM_LOCK_TIMEOUT", global = true, default_value = "50ms", value_parser = parse_lock_timeout)]
    pub lock_timeout: Duration,
    /// Attempts in all when locks time out.
    #[arg(long, env = "ZDM_LOCK_RETRIES", global = true, default_value_t = 30)]
    pub lock_retries: u32,
    /// Give up retrying after this long.
    #[arg(long, env = "ZDM_LOCK_RETRY_MAX", global = true, default_value = "5m", value_parser = parse_duration)]
    pub lock_retry_max: Duration,
    /// Schema of the application's tables (operation migrations; default public). For `zdm
    /// move`: the PostgreSQL schema the source database is moved into (default: its name).
    #[arg(long, env = "ZDM_TARGET_SCHEMA", global = true)]
    pub target_schema: Option<String>,
    /// Backfill: aim for batches that take this long (row locks are held that long at most).
    #[arg(long, env = "ZDM_BATCH_TARGET", global = true, default_value = "40ms", value_parser = parse_duration)]
    pub batch_target: Duration,
    /// Backfill: pause between batches.
    #[arg(long, env = "ZDM_BATCH_DELAY", global = true, default_value = "0ms", value_parser = parse_duration)]
    pub batch_delay: Duration,
    /// Backfill: while the application is busy (other sessions active within the last second),
    /// rest this many times each batch's duration after it, and aim for 10 ms batches (as
    /// gh-ost's --nice-ratio). 0: full speed whatever the load.
    #[arg(long, env = "ZDM_NICE_RATIO", global = true, default_value_t = 1.0, value_parser = parse_nice_ratio)]
    pub nice_ratio: f64,
    /// Throttle while a standby lags more than this: the backfill reads the standbys'
    /// replay lag on the primary (`pg_stat_replication`; a standby that stops streaming holds
    /// it until it is back), `zdm verify` the lag of each --replica. 0 turns it off.
    #[arg(long, env = "ZDM_MAX_REPLICA_LAG", global = true, default_value = "1s", value_parser = parse_duration)]
    pub max_replica_lag: Duration,
    /// Backfill: throttle while this SQL returns true (e.g. a check of the application's own
    /// latency table); an error in it throttles too.
    #[arg(long, env = "ZDM_THROTTLE_QUERY", global = true)]
    pub throttle_query: Option<String>,
    /// Backfill: throttle while this file exists.
    #[arg(long, env = "ZDM_THROTTLE_FLAG_FILE", global = true)]
    pub throttle_flag_file: Option<PathBuf>,
    /// Machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Long-running commands (migrate, start, resume, complete, move start/resume/verify):
    /// serve live /metrics, /healthz, /readyz, /api/status and the status page here while they
    /// run (e.g. 127.0.0.1:9732). Off loopback it needs --token.
    #[arg(long, env = "ZDM_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Token `zdm serve` and --metrics-listen require (bearer header or cookie); required on any
    /// address but loopback.
    #[arg(long, env = "ZDM_SERVE_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Log format on stderr; `json` emits the audit events as JSON lines.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// PostgreSQL reads `lock_timeout = 0` (and anything under 1 ms, rounded down) as "wait forever":
/// exactly what the option exists to prevent.
fn parse_nice_ratio(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("{s}: the nice ratio is between 0 and 100"));
    }
    Ok(v)
}

fn parse_lock_timeout(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_millis(1) {
        return Err(format!("{s} would disable lock timeouts (PostgreSQL's 0 means wait forever): give at least 1ms"));
    }
    Ok(d)
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 500ms, 2s, 5m)"))
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatestWhat {
    Schema,
    Url,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create or upgrade the ledger schema (idempotent).
    Init,
    /// Create a new migration file named <UTC timestamp>_<name>.yaml (or .sql).
    New {
        name: String,
        /// Create a plain SQL migration instead of an operations file.
        #[arg(long)]
        sql: bool,
    },
    /// Check that all files parse, ids are unique and applied files are unchanged (the latter
    /// needs a database URL).
    Validate,
    /// Show every migration's state, times and errors.
    Status,
    /// Show the audit log.
    History {
        /// Only events of this migration.
        #[arg(long)]
        migration: Option<String>,
        /// Only the last N events.
        #[arg(long)]
        limit: Option<i64>,
    },
    /// Apply pending migrations in order; resume failed or interrupted ones. Operation files are
    /// started and completed, except the last, which stays expanded unless --complete.
    Migrate {
        /// Stop after this migration.
        #[arg(long)]
        to: Option<String>,
        /// Also complete the last operations migration.
        #[arg(long)]
        complete: bool,
        /// Run SQL migrations even when `zdm lint` finds error-level hazards in them.
        #[arg(long)]
        allow_unsafe: bool,
    },
    /// Start an operations migration: expand, backfill, publish the new version schema.
    Start {
        /// The migration file.
        file: std::path::PathBuf,
        /// Complete it right away (no period with both versions live).
        #[arg(long)]
        complete: bool,
    },
    /// Complete the expanded migration: drop the old version, contract the schema.
    Complete {
        /// The migration (default: the one in flight).
        id: Option<String>,
        /// Refuse unless the migration has been expanded at least this long (soak time, e.g. 2d).
        #[arg(long, env = "ZDM_MIN_EXPANDED", value_parser = parse_duration)]
        min_expanded: Option<Duration>,
        /// Watch this long for sessions still using the old version's schema (locks on its
        /// views) and refuse while any is seen (0s: do not watch).
        #[arg(long, env = "ZDM_IN_USE_WINDOW", default_value = "2s", value_parser = parse_duration)]
        in_use_window: Duration,
        /// Refuse while writes through the old version were noted (by the dual-write triggers)
        /// within this long (0s: do not look).
        #[arg(long, env = "ZDM_OLD_WRITES_WINDOW", default_value = "1m", value_parser = parse_duration)]
        old_writes_window: Duration,
        /// Complete even though the old version is seen in use (logged with the evidence).
        #[arg(long)]
        force: bool,
    },
    /// Resume the interrupted or failed phase of the migration in flight.
    Resume,
    /// Print, per phase, the SQL zdm would run for a migration and the locks it takes.
    Plan { file: std::path::PathBuf },
    /// Drop the columns and tables that completed migrations archived (drop_column, drop_table).
    Purge {
        /// Only archives of migrations completed longer ago than this (e.g. 7d, 12h, 0s).
        #[arg(long, value_parser = parse_duration)]
        older_than: Duration,
        /// List what would be dropped, drop nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print what new application code should use: the latest version schema, or a URL selecting it.
    Latest {
        #[arg(value_enum)]
        what: LatestWhat,
    },
    /// Roll back the operations migration in flight, or else the last applied SQL migration (with
    /// its .down.sql).
    Rollback {
        /// The migration to roll back (must be the in-flight or last applied one).
        id: Option<String>,
    },
    /// Record the database as already at migration <id> without running anything.
    Baseline { id: String },
    /// Accept the new checksums of applied files that were edited.
    Repair,
    /// Hold running backfills back (`on`) or let them go on (`off`), from any machine: the
    /// switch lives in the ledger and every runner looks at it before each batch.
    Throttle {
        #[arg(value_enum)]
        switch: ThrottleSwitch,
        /// Why (shown in the events and the status).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Check migrations for statements that lock busy tables or break running code, with the
    /// safe alternative (exit 0 clean, 1 findings at or above --fail-on, 2 usage/parse error).
    Lint(LintArgs),
    /// Move a live MySQL/MariaDB database into PostgreSQL: convert, copy, follow the binlog.
    #[command(subcommand)]
    Move(MoveCommand),
    /// Prove two databases hold the same rows (MySQL/MariaDB or PostgreSQL on either side):
    /// exit 0 equal, 1 differences found (each listed with its key), other codes on errors.
    Verify(VerifyArgs),
    /// Serve the ledger read-only over HTTP: Prometheus /metrics, /healthz, /readyz,
    /// /api/status (JSON) and a live status page at /.
    Serve(ServeArgs),
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleSwitch {
    On,
    Off,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback requires --token (or ZDM_SERVE_TOKEN).
    #[arg(long, env = "ZDM_SERVE_LISTEN", default_value = "127.0.0.1:9731")]
    pub listen: std::net::SocketAddr,
    /// /readyz answers 503 while a following move lags more than this (0s: lag never does).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub ready_max_lag: Duration,
    /// /readyz stays 200 while a migration or move has failed.
    #[arg(long)]
    pub ready_ignore_failed: bool,
    /// How often the ledger is read.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub refresh: Duration,
}

#[derive(Args, Debug, Clone)]
pub struct VerifyCommon {
    /// Only these tables (comma-separated source names).
    #[arg(long, value_delimiter = ',')]
    pub tables: Vec<String>,
    /// Key columns to match rows by (default: each table's primary key).
    #[arg(long, value_delimiter = ',')]
    pub key: Vec<String>,
    /// Columns whose values are never printed (`table.column` or `column`, comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub sensitive: Vec<String>,
    /// Check differing segments again this many times before reporting them (writes in flight).
    #[arg(long, default_value_t = 2)]
    pub rechecks: u32,
    /// Tables compared at once.
    #[arg(long, default_value_t = 4)]
    pub parallel: usize,
    /// Throttle: read each table in key ranges taking about this long, one at a time per side
    /// (integer keys; e.g. 200ms). Default: a few large ranges at full speed.
    #[arg(long, value_parser = parse_duration)]
    pub scan_target: Option<Duration>,
    /// Throttle: pause this long after each key range.
    #[arg(long, default_value = "0ms", value_parser = parse_duration)]
    pub pause: Duration,
    /// A replica (mysql://… or postgres://… of a standby) whose lag --max-replica-lag watches;
    /// repeatable.
    #[arg(long, hide_env_values = true)]
    pub replica: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    /// mysql://… or postgres://…
    #[arg(long, env = "ZDM_SOURCE_URL", hide_env_values = true)]
    pub source: String,
    /// mysql://… or postgres://… (default: --database-url)
    #[arg(long, env = "ZDM_TARGET_URL", hide_env_values = true)]
    pub target: Option<String>,
    /// PostgreSQL schema on the source side (default public).
    #[arg(long)]
    pub source_schema: Option<String>,
    #[command(flatten)]
    pub common: VerifyCommon,
}

#[derive(Args, Debug, Clone)]
pub struct MoveEnds {
    /// Source: mysql://user:pass@host:port/database[?ssl-mode=DISABLED|PREFERRED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY&ssl-ca=FILE].
    #[arg(long, env = "ZDM_SOURCE_URL", hide_env_values = true)]
    pub source: Option<String>,
    /// Target PostgreSQL URL (default: --database-url); the job's state lives in its ledger.
    #[arg(long, env = "ZDM_TARGET_URL", hide_env_values = true)]
    pub target: Option<String>,
    /// The job (default: the only one, or the target schema's name when creating).
    #[arg(long)]
    pub job: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct MoveSelect {
    /// Only these source tables (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub tables: Vec<String>,
    /// Leave these source tables out (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Cast file: type and column overrides (YAML: `types: {time: interval}`, `columns: {t.c: text}`).
    #[arg(long)]
    pub cast: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct MoveCopyArgs {
    /// Parallel copy workers in this process (default: the machine's cores, 2–16).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Rows per chunk (the unit of claiming, committing and resuming).
    #[arg(long, default_value_t = 50_000)]
    pub chunk_rows: u64,
    /// Remove NUL bytes from text values (PostgreSQL text cannot hold them) instead of failing.
    #[arg(long)]
    pub strip_nul: bool,
    /// How long a chunk claim lasts without renewal: a dead worker's chunk is taken over after it.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub lease: Duration,
}

#[derive(Subcommand, Debug)]
pub enum MoveCommand {
    /// Print the PostgreSQL DDL for the source schema, every conversion decision and warning.
    Plan {
        #[command(flatten)]
        ends: MoveEnds,
        #[command(flatten)]
        select: MoveSelect,
    },
    /// Create the target tables, copy a snapshot, then follow the binlog until stopped. Run it
    /// again after any stop or crash: it resumes from its checkpoints.
    Start(MoveStartArgs),
    /// The same as start, for a job that exists.
    Resume(MoveStartArgs),
    /// Join a running job's copy (from this or another machine) until no chunk is left.
    Worker {
        #[command(flatten)]
        ends: MoveEnds,
        #[command(flatten)]
        copy: MoveCopyArgs,
    },
    /// Phase, per-table copy progress, binlog position, lag, applied events, last error.
    Status {
        #[command(flatten)]
        ends: MoveEnds,
    },
    /// Ask the running `zdm move start` to stop (it finishes its current transaction).
    Stop {
        #[command(flatten)]
        ends: MoveEnds,
    },
    /// Verify the job's tables: source vs target with the job's conversion rules; while
    /// following, differing segments are re-checked once the stream has passed them.
    Verify {
        #[command(flatten)]
        ends: MoveEnds,
        #[command(flatten)]
        common: VerifyCommon,
        /// Re-copy the differing rows from the source through the job (delete extra ones), then
        /// verify again.
        #[arg(long)]
        repair: bool,
    },
    /// Remove the job and every table it created on the target (never touches the source).
    Abort {
        #[command(flatten)]
        ends: MoveEnds,
        /// Confirm.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Args, Debug, Clone)]
pub struct MoveStartArgs {
    #[command(flatten)]
    pub ends: MoveEnds,
    #[command(flatten)]
    pub select: MoveSelect,
    #[command(flatten)]
    pub copy: MoveCopyArgs,
    /// Re-copy these tables (comma-separated, or `all`) before following again.
    #[arg(long, value_delimiter = ',')]
    pub recopy: Vec<String>,
    /// Skip the DDL statement that stopped the job, named by its position (file:pos, as the error says).
    #[arg(long)]
    pub skip_statement: Option<String>,
    /// Stop once the copy, its indexes and the changes up to now are applied (no long-running follow).
    #[arg(long)]
    pub until_caught_up: bool,
    /// Replication server id zdm registers with (unique among the source's replicas).
    #[arg(long, default_value_t = 0)]
    pub server_id: u32,
}

#[derive(Args, Debug, Clone)]
pub struct LintArgs {
    /// Files to lint (default: every migration of --dir). Migrations of --dir are linted after
    /// replaying the ones before them; other files are linted in the order given.
    pub files: Vec<PathBuf>,
    /// SQL dialect (default: from the database URL's scheme, else postgres).
    #[arg(long, env = "ZDM_DIALECT", value_enum)]
    pub dialect: Option<LintDialect>,
    /// PostgreSQL version the migrations will run on (e.g. 15, 14.2).
    #[arg(long, env = "ZDM_PG_VERSION")]
    pub pg_version: Option<String>,
    /// MySQL or MariaDB version (e.g. 8.0.35, 10.11.6-MariaDB).
    #[arg(long, env = "ZDM_MYSQL_VERSION")]
    pub mysql_version: Option<String>,
    #[arg(long, value_enum, default_value_t = LintFormat::Human)]
    pub format: LintFormat,
    /// Exit 1 when a finding is at least this severe.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Turn on off-by-default rules (comma-separated ids, or `all`).
    #[arg(long, value_delimiter = ',')]
    pub enable: Vec<String>,
    /// Turn rules off (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub disable: Vec<String>,
    /// Also run the migrations on a scratch database created on --database-url's server (and
    /// dropped): report the locks and rewrites each statement really takes, beside the static
    /// verdict, and flag disagreements.
    #[arg(long)]
    pub trace: bool,
    /// Explain a rule: what it flags, why, and the safe alternative.
    #[arg(long, value_name = "RULE")]
    pub explain: Option<String>,
    /// List every rule.
    #[arg(long)]
    pub list_rules: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LintDialect {
    Postgres,
    Mysql,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LintFormat {
    Human,
    Json,
    Sarif,
    Github,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    None,
}
