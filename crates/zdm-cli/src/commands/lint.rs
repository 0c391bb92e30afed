//! `zdm lint`: static migration-safety analysis (zdm-lint), optionally traced against a scratch
//! database (`--trace`, see `lint_trace`). Exit codes are the linter's own: 0 clean, 1 findings at
//! or above `--fail-on`, 2 usage or parse error.

use super::lint_trace;
use super::Context;
use crate::cli::{FailOn, LintArgs, LintDialect, LintFormat};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use zdm_core::source::{self, MigrationFile};
use zdm_lint::{Dialect, Finding, MysqlVersion, Options, Severity};

/// `zdm lint` found something at or above `--fail-on` (exit code 1).
#[derive(Debug, thiserror::Error)]
#[error("{0} finding(s) at or above the --fail-on level")]
pub struct FindingsFailed(pub usize);

/// Bad input for `zdm lint`: unreadable or malformed files, unknown rules (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LintUsage(pub String);

/// The SQL dialect: `--dialect`, else `ZDM_DIALECT`, else the database URL's scheme, else
/// PostgreSQL.
pub fn dialect(flag: Option<LintDialect>, url: Option<&str>) -> Dialect {
    match flag {
        Some(LintDialect::Mysql) => Dialect::Mysql,
        Some(LintDialect::Postgres) => Dialect::Postgres,
        None => match url {
            Some(u) if u.starts_with("mysql://") || u.starts_with("mariadb://") => Dialect::Mysql,
            _ => Dialect::Postgres,
        },
    }
}

pub fn options(args: &LintArgs, url: Option<&str>) -> Result<Options, LintUsage> {
    let mut opts = match dialect(args.dialect, url) {
        Dialect::Postgres => Options::postgres(15),
        Dialect::Mysql => Options::mysql(MysqlVersion::mysql(8, 0, 35)),
    };
    if let Some(v) = &args.pg_version {
        let mut parts = v.split('.');
        opts.pg_version = parts
            .next()
            .and_then(|m| m.trim().parse().ok())
            .ok_or_else(|| LintUsage(format!("--pg-version {v:?}: expected e.g. 15 or 14.2")))?;
        opts.pg_minor = parts.next().and_then(|m| m.trim().parse().ok());
    }
    if let Some(v) = &args.mysql_version {
        opts.mysql_version = MysqlVersion::parse(v).ok_or_else(|| {
            LintUsage(format!(
                "--mysql-version {v:?}: expected e.g. 8.0.35 or 10.11.6-MariaDB"
            ))
        })?;
    }
    opts.enable = args.enable.clone();
    opts.disable = args.disable.clone();
    Ok(opts)
}

/// What to lint: the files of the directory (all, or those named), and named files outside it.
pub struct Inputs {
    /// The directory's migrations in order (replayed for context even when not reported).
    pub dir_files: Vec<MigrationFile>,
    /// Which of `dir_files` are reported, by id.
    pub selected: Vec<String>,
    /// Named files that are not migrations of the directory, linted in the order given.
    pub loose: Vec<PathBuf>,
}

pub fn inputs(dir: &Path, named: &[PathBuf]) -> Result<Inputs, LintUsage> {
    let dir_files = if dir.is_dir() {
        source::load_dir_for_lint(dir).map_err(|e| LintUsage(e.to_string()))?
    } else if named.is_empty() {
        return Err(LintUsage(format!(
            "no migrations directory {} (pass --dir or files to lint)",
            dir.display()
        )));
    } else {
        Vec::new()
    };
    if named.is_empty() {
        let selected = dir_files.iter().map(|f| f.id.clone()).collect();
        return Ok(Inputs {
            dir_files,
            selected,
            loose: Vec::new(),
        });
    }
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mut selected = Vec::new();
    let mut loose = Vec::new();
    for p in named {
        if !p.is_file() {
            return Err(LintUsage(format!("{}: no such file", p.display())));
        }
        match dir_files.iter().find(|f| canon(&f.path) == canon(p)) {
            Some(f) => selected.push(f.id.clone()),
            None => loose.push(p.clone()),
        }
    }
    Ok(Inputs {
        dir_files,
        selected,
        loose,
    })
}

/// Lint `inputs` statically; returns the findings and the text of every reported file.
pub fn lint_static(
    inputs: &Inputs,
    opts: &Options,
) -> Result<(Vec<Finding>, BTreeMap<String, String>), LintUsage> {
    let mut findings = zdm_lint::lint_migrations(&inputs.dir_files, opts, &|f| {
        inputs.selected.contains(&f.id)
    })
    .map_err(|e| LintUsage(e.to_string()))?;
    let mut sources = BTreeMap::new();
    for f in inputs
        .dir_files
        .iter()
        .filter(|f| inputs.selected.contains(&f.id))
    {
        if let Ok(text) = std::fs::read_to_string(&f.path) {
            sources.insert(f.path.display().to_string(), text);
        }
    }
    // Loose files: operation files through the migration loader, SQL as it is (the loader would
    // refuse some of what the linter should report, e.g. BEGIN/COMMIT).
    let mut schema = zdm_lint::new_schema(opts);
    for p in &inputs.loose {
        let shown = p.display().to_string();
        let text = std::fs::read_to_string(p).map_err(|e| LintUsage(format!("{shown}: {e}")))?;
        let is_ops = matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        );
        if is_ops {
            let file = source::load_file(p).map_err(|e| LintUsage(e.to_string()))?;
            findings.extend(
                zdm_lint::lint_migrations(&[file], opts, &|_| true)
                    .map_err(|e| LintUsage(e.to_string()))?,
            );
        } else {
            findings.extend(
                zdm_lint::lint_file(&shown, &text, opts, &mut schema)
                    .map_err(|e| LintUsage(e.to_string()))?,
            );
        }
        sources.insert(shown, text);
    }
    Ok((findings, sources))
}

fn threshold(fail_on: FailOn) -> Option<Severity> {
    match fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::None => None,
    }
}

pub async fn lint(ctx: &Context, args: &LintArgs) -> anyhow::Result<()> {
    let url = ctx.global.database_url.as_deref();
    let mut opts = options(args, url)?;
    if let Some(id) = &args.explain {
        return explain(id);
    }
    let trace_url = if args.trace {
        let url = url.ok_or_else(|| {
            LintUsage(
                "--trace needs --database-url (a server to create a scratch database on)".into(),
            )
        })?;
        // The traced server's version decides the static verdict too, unless one was given.
        if args.pg_version.is_none() && args.mysql_version.is_none() {
            lint_trace::use_server_version(url, &mut opts).await?;
        }
        Some(url)
    } else {
        None
    };
    let inputs = inputs(&ctx.global.dir, &args.files)?;
    let (mut findings, sources) = lint_static(&inputs, &opts)?;
    let traces = if let Some(url) = trace_url {
        let t = lint_trace::trace(url, &inputs, &opts, &findings).await?;
        findings.extend(t.disagreements.iter().cloned());
        Some(t)
    } else {
        None
    };
    findings.sort_by(|a, b| (&a.file, a.span.start, a.rule).cmp(&(&b.file, b.span.start, b.rule)));
    let format = if ctx.global.json {
        LintFormat::Json
    } else {
        args.format
    };
    let engine = match opts.dialect {
        Dialect::Postgres => zdm_lint::Engine::Postgres,
        Dialect::Mysql => zdm_lint::Engine::Mysql,
    };
    let rendered = match format {
        LintFormat::Human => {
            let mut out = zdm_lint::output::human(&findings, &sources);
            if let Some(t) = &traces {
                out.push_str(&t.human());
            }
            out
        }
        LintFormat::Json => match &traces {
            None => zdm_lint::output::json(&findings),
            Some(t) => {
                let mut doc: serde_json::Value =
                    serde_json::from_str(&zdm_lint::output::json(&findings))?;
                doc["trace"] = serde_json::to_value(&t.files)?;
                serde_json::to_string_pretty(&doc)?
            }
        },
        LintFormat::Sarif => zdm_lint::output::sarif(&findings, engine, DOCS_BASE),
        LintFormat::Github => zdm_lint::output::github(&findings),
    };
    print!("{rendered}");
    if !rendered.ends_with('\n') {
        println!();
    }
    let failing = threshold(args.fail_on)
        .map(|t| findings.iter().filter(|f| f.severity >= t).count())
        .unwrap_or(0);
    if failing > 0 {
        return Err(FindingsFailed(failing).into());
    }
    Ok(())
}

/// Where rule pages live, for SARIF `helpUri`s.
pub const DOCS_BASE: &str = "https://github.com/zdm-dev/zdm/blob/main/docs/lint/";

fn explain(id: &str) -> anyhow::Result<()> {
    let doc = zdm_lint::rule_doc(id).ok_or_else(|| {
        LintUsage(format!(
            "unknown rule {id:?}; `zdm lint --list-rules` lists them"
        ))
    })?;
    println!("{doc}");
    Ok(())
}

pub fn list_rules() {
    for r in zdm_lint::rules() {
        println!(
            "{:<40} {:<8} {:<9?} {}",
            r.id,
            r.severity.as_str(),
            r.engine,
            r.summary
        );
    }
}
