//! `zdm lint`, the static part: migration-safety rules for PostgreSQL and MySQL/MariaDB
//! migrations, checked against a catalog replayed from the earlier migrations (no database).
//!
//! Entry points:
//! * [`lint_file`]: one SQL text, given the catalog so far (the caller replays earlier files);
//! * [`lint_migrations`]: a migration directory as loaded by `zdm_core::source`, each file
//!   linted after replaying the ones before it; operation files (`.yaml`/`.json`) have their
//!   `sql` operations linted and their operations replayed;
//! * [`rules`]: the rule catalogue (ids, severities, docs), for `--explain` and SARIF;
//! * [`output`]: human, JSON, SARIF and GitHub renderers.
//!
//! For the CLI: `--dialect postgres|mysql` → [`Options::dialect`]; `--pg-version 16` (or
//! `16.2`: major into `pg_version`, minor into `pg_minor`); `--mysql-version 8.0.35` /
//! `mariadb-10.11` → [`MysqlVersion::parse`]; `--enable ID|all` / `--disable ID` →
//! `Options::enable/disable` (unknown ids are a [`LintError`]); `--format
//! human|json|sarif|github` → [`output`]. `in_transaction` needs no flag: `lint_migrations`
//! takes it from each file (`-- zdm:no-transaction`, or a statement that cannot run in a
//! transaction). Suggested exit status: failure when any finding is [`Severity::Error`].

pub mod dialect;
pub mod finding;
mod ignore;
mod mysql;
mod operations;
pub mod output;
mod pg;
mod rules;
pub mod schema;
pub mod statements;

pub use dialect::{Dialect, MysqlFlavor, MysqlVersion, Options};
pub use finding::{Finding, LineIndex, Severity};
pub use rules::{rule_doc, rule_info, rules, rules_index, Engine, RuleInfo};
pub use schema::Schema;

use std::path::Path;
use zdm_core::source::{MigrationBody, MigrationFile};

#[derive(Debug, thiserror::Error)]
pub enum LintError {
    #[error("unsupported PostgreSQL version {0} (zdm lint knows 9.6 and 10–19)")]
    PgVersion(u32),
    #[error("unknown rule id {0:?} in the enable/disable list")]
    UnknownRule(String),
    #[error("{0}")]
    Source(String),
}

fn check_options(opts: &Options) -> Result<(), LintError> {
    if opts.dialect == Dialect::Postgres && !(9..=19).contains(&opts.pg_version) {
        return Err(LintError::PgVersion(opts.pg_version));
    }
    for id in opts.enable.iter().chain(&opts.disable) {
        if id != "all" && !rules().iter().any(|r| r.id == id) {
            return Err(LintError::UnknownRule(id.clone()));
        }
    }
    Ok(())
}

/// A fresh catalog for `opts.dialect`.
pub fn new_schema(opts: &Options) -> Schema {
    match opts.dialect {
        Dialect::Postgres => Schema::postgres(),
        Dialect::Mysql => Schema::mysql(),
    }
}

/// Lints one SQL file and replays it into `schema` (so the next file sees its tables).
///
/// `path` is only reported back in findings. PostgreSQL files follow zdm's runner: a file
/// runs in one transaction when `opts.in_transaction`, unless it has `-- zdm:no-transaction`
/// or a statement that cannot run in a transaction (then zdm runs it statement by statement).
pub fn lint_file(
    path: &str,
    text: &str,
    opts: &Options,
    schema: &mut Schema,
) -> Result<Vec<Finding>, LintError> {
    check_options(opts)?;
    schema.begin_file(path);
    Ok(match opts.dialect {
        Dialect::Postgres => lint_pg(path, text, opts, schema, true, Runner::SqlFile),
        Dialect::Mysql => mysql::lint(path, text, opts, schema),
    })
}

/// Replays a file into `schema` without reporting anything (for already-applied migrations).
pub fn replay_file(path: &str, text: &str, opts: &Options, schema: &mut Schema) {
    schema.begin_file(path);
    match opts.dialect {
        Dialect::Postgres => {
            let _ = lint_pg(path, text, opts, schema, false, Runner::SqlFile);
        }
        Dialect::Mysql => {
            let _ = mysql::lint(path, text, opts, schema);
        }
    }
}

fn has_no_transaction_directive(text: &str) -> bool {
    text.lines().any(|l| {
        l.trim().strip_prefix("--").map(str::trim)
            == Some(zdm_core::source::NO_TRANSACTION_DIRECTIVE)
    })
}

/// How zdm runs the SQL being linted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Runner {
    /// A `.sql` migration file: one transaction, or statement by statement when it has
    /// `-- zdm:no-transaction` or a statement that cannot run in a transaction.
    SqlFile,
    /// The `up` of a `sql` operation: its statements join the expand transaction, except
    /// those that cannot run in a transaction, which the planner runs on their own.
    OperationSql,
}

pub(crate) fn lint_pg(
    path: &str,
    text: &str,
    opts: &Options,
    schema: &mut Schema,
    report: bool,
    runner: Runner,
) -> Vec<Finding> {
    lint_pg_parsed(path, text, opts, schema, report, runner, pg::parse(text))
}

/// [`lint_pg`] on a file already parsed (parsing is independent of the catalog, so
/// `lint_migrations` parses files in parallel and replays them in order).
fn lint_pg_parsed(
    path: &str,
    text: &str,
    opts: &Options,
    schema: &mut Schema,
    report: bool,
    runner: Runner,
    parsed: pg::Parsed,
) -> Vec<Finding> {
    let lines = LineIndex::new(text);
    let mut file_opts = opts.clone();
    if has_no_transaction_directive(text) {
        file_opts.in_transaction = false;
    }
    // Whether zdm_core's classification makes the runner split the file.
    let implied_switch = runner == Runner::SqlFile
        && file_opts.in_transaction
        && parsed
            .stmts
            .iter()
            .any(|st| pg::must_run_outside_transaction(text, &st.range));
    if implied_switch {
        // zdm runs such a file statement by statement (see zdm_core::source).
        file_opts.in_transaction = false;
    }
    let mut cx = pg::Cx::new(&file_opts, path, text, &lines, schema);
    cx.concurrent_split_out = runner == Runner::OperationSql;
    if implied_switch && report {
        rules::pg::implied_no_transaction(&mut cx, &parsed);
    }
    pg::lint(&mut cx, &parsed);
    if !report {
        return Vec::new();
    }
    for (range, message) in &parsed.errors {
        cx.out.report(
            &rules::meta::SYNTAX_ERROR,
            range.clone(),
            format!("could not parse: {message}; hazards in this statement may go unreported"),
            "Check the statement's syntax for the target PostgreSQL version.".into(),
            None,
        );
    }
    let findings = std::mem::take(&mut cx.out.findings);
    let starts: Vec<usize> = parsed.stmts.iter().map(|s| s.range.start).collect();
    let ignores = ignore::parse(text, &parsed.comments, &lines);
    let enabled = |r: &RuleInfo| opts.rule_enabled(r.id, r.default_enabled);
    ignore::apply(text, path, &lines, &starts, ignores, findings, &enabled)
}

/// Lints a migration directory's files in order. Every file is replayed into one catalog;
/// only files for which `select` returns true are reported (e.g. the pending ones).
pub fn lint_migrations(
    files: &[MigrationFile],
    opts: &Options,
    select: &dyn Fn(&MigrationFile) -> bool,
) -> Result<Vec<Finding>, LintError> {
    check_options(opts)?;
    let mut schema = new_schema(opts);
    let mut findings = Vec::new();
    let mut parsed = parse_sql_files_in_parallel(files, opts);
    for (i, f) in files.iter().enumerate() {
        let path = f.path.display().to_string();
        let report = select(f);
        match &f.body {
            MigrationBody::Sql(sql) => {
                let mut o = opts.clone();
                o.in_transaction = opts.dialect == Dialect::Postgres && !sql.no_transaction;
                // The loader already decided; keep its verdict for CONCURRENTLY files too.
                match parsed[i].take() {
                    Some(p) => {
                        schema.begin_file(&path);
                        let found = lint_pg_parsed(
                            &path,
                            &sql.up,
                            &o,
                            &mut schema,
                            report,
                            Runner::SqlFile,
                            p,
                        );
                        findings.extend(found);
                    }
                    None if report => findings.extend(lint_file(&path, &sql.up, &o, &mut schema)?),
                    None => replay_file(&path, &sql.up, &o, &mut schema),
                }
            }
            MigrationBody::Operations(ops) => {
                let raw = std::fs::read_to_string(&f.path).unwrap_or_default();
                let found = operations::lint(&path, &raw, ops, opts, &mut schema);
                if report {
                    findings.extend(found);
                }
            }
        }
    }
    Ok(findings)
}

/// Parse every PostgreSQL SQL file of `files` on all cores (index-aligned with `files`; `None`
/// for files parsed later, in order).
fn parse_sql_files_in_parallel(files: &[MigrationFile], opts: &Options) -> Vec<Option<pg::Parsed>> {
    let mut out: Vec<Option<pg::Parsed>> = files.iter().map(|_| None).collect();
    if opts.dialect != Dialect::Postgres || files.len() < 2 {
        return out;
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len());
    let chunk = files.len().div_ceil(threads);
    std::thread::scope(|scope| {
        for (slots, batch) in out.chunks_mut(chunk).zip(files.chunks(chunk)) {
            scope.spawn(move || {
                for (slot, f) in slots.iter_mut().zip(batch) {
                    if let MigrationBody::Sql(sql) = &f.body {
                        *slot = Some(pg::parse(&sql.up));
                    }
                }
            });
        }
    });
    out
}

/// Loads `dir` with zdm's source loader and lints every file.
pub fn lint_dir(dir: &Path, opts: &Options) -> Result<Vec<Finding>, LintError> {
    let files = zdm_core::source::load_dir(dir).map_err(|e| LintError::Source(e.to_string()))?;
    lint_migrations(&files, opts, &|_| true)
}
