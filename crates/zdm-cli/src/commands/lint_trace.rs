//! `zdm lint --trace`: run the linted migrations on a scratch database of the given server,
//! record what each statement really locked or rewrote, and set it beside the static verdict.
//! Earlier migrations of the directory are applied first so the traced files meet the schema
//! they will meet in production (with empty tables). A disagreement becomes a finding of its
//! own (`lint-trace-disagreement`), so every output format carries it.

use super::lint::{Inputs, LintUsage};
use serde::Serialize;
use std::fmt::Write as _;
use std::ops::Range;
use zdm_core::source::{MigrationBody, MigrationFile};
use zdm_lint::statements::statement_ranges;
use zdm_lint::{Dialect, Finding, Options, Severity};

pub const DISAGREEMENT: &str = "lint-trace-disagreement";

/// Static rules that claim the statement rewrites a table (PostgreSQL).
const PG_REWRITE_RULES: &[&str] = &[
    "pg-alter-type-rewrite",
    "pg-add-column-rewrite",
    "pg-add-column-volatile-default",
    "pg-table-rewrite",
];

/// Static rules that claim MySQL copies the table or blocks writes for the whole operation.
const MY_BLOCKING_RULES: &[&str] = &[
    "my-algorithm-copy",
    "my-alter-column-type",
    "my-add-column-not-instant",
    "my-add-column-expression-default",
    "my-add-foreign-key",
    "my-add-auto-increment",
    "my-add-stored-generated",
    "my-enum-set-change",
    "my-rebuild-ops",
];

#[derive(Debug, Serialize)]
pub struct TracedStatement {
    pub line: usize,
    pub column: usize,
    pub sql: String,
    /// The strongest lock per relation (PostgreSQL) or the metadata locks seen (MySQL).
    pub locks: Vec<String>,
    /// Relations rewritten (PostgreSQL) or tables rebuilt (MySQL).
    pub rewrites: Vec<String>,
    /// PostgreSQL: application-blocking locks a one-transaction file would still hold from the
    /// statements before this one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held_before: Vec<String>,
    /// MySQL: the algorithm the server used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// The static findings on this statement.
    pub static_rules: Vec<String>,
    /// Why the trace and the static verdict disagree, when they do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disagreement: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TracedFile {
    pub file: String,
    pub server: String,
    /// The scratch database the file ran on (dropped when the trace ends).
    pub scratch_database: String,
    pub statements: Vec<TracedStatement>,
}

pub struct TraceReport {
    pub files: Vec<TracedFile>,
    pub disagreements: Vec<Finding>,
}

impl TraceReport {
    pub fn human(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            let _ = writeln!(
                out,
                "\ntrace of {} on a scratch database ({}):",
                f.file, f.server
            );
            for s in &f.statements {
                let first = s.sql.lines().next().unwrap_or_default();
                let _ = writeln!(out, "  {}:{}  {first}", s.line, s.column);
                if let Some(a) = &s.algorithm {
                    let _ = writeln!(out, "        algorithm: {a}");
                }
                if !s.locks.is_empty() {
                    let _ = writeln!(out, "        locks: {}", s.locks.join("; "));
                }
                if !s.rewrites.is_empty() {
                    let _ = writeln!(out, "        rewrote: {}", s.rewrites.join(", "));
                }
                if !s.held_before.is_empty() {
                    let _ = writeln!(
                        out,
                        "        in one transaction, still held from earlier statements: {}",
                        s.held_before.join("; ")
                    );
                }
                let verdict = if s.static_rules.is_empty() {
                    "no finding".to_string()
                } else {
                    s.static_rules.join(", ")
                };
                match &s.disagreement {
                    Some(d) => {
                        let _ = writeln!(out, "        static: {verdict} — DISAGREES: {d}");
                    }
                    None => {
                        let _ = writeln!(out, "        static: {verdict} — agrees");
                    }
                }
                if let Some(e) = &s.error {
                    let _ = writeln!(out, "        failed: {e} (the trace stops here)");
                }
            }
        }
        out
    }
}

/// Findings (warning or worse) whose span starts inside `range` of `file`.
fn findings_in<'a>(findings: &'a [Finding], file: &str, range: &Range<usize>) -> Vec<&'a Finding> {
    findings
        .iter()
        .filter(|f| {
            f.file == file && range.contains(&f.span.start) && f.severity >= Severity::Warning
        })
        .collect()
}

fn disagreement_finding(file: &str, text: &str, range: &Range<usize>, message: String) -> Finding {
    let (line, column) = zdm_core::sql::line_col(text, range.start);
    Finding {
        rule: DISAGREEMENT,
        severity: Severity::Warning,
        message,
        help: "The trace is what the server did on an empty copy of the schema; check the \
               statement and the rule (and report a linter bug if the static verdict is wrong)."
            .into(),
        file: file.to_string(),
        span: range.clone(),
        line,
        column,
        locks: None,
    }
}

/// Set the linter's server version from the server at `url`.
pub async fn use_server_version(url: &str, opts: &mut Options) -> anyhow::Result<()> {
    match opts.dialect {
        Dialect::Postgres => {
            let spec = zdm_pg::ConnectionSpec::parse(url).map_err(zdm_pg::Error::from)?;
            let c = spec
                .connect("zdm lint")
                .await
                .map_err(zdm_pg::Error::from)?;
            let num: i32 = c
                .query_one("SELECT current_setting('server_version_num')::int", &[])
                .await?
                .get(0);
            opts.pg_version = (num / 10000) as u32;
            opts.pg_minor = Some((num % 10000) as u32);
        }
        Dialect::Mysql => {
            let version = zdm_mysql::trace::version_of(url).await?;
            if let Some(v) = zdm_lint::MysqlVersion::parse(&version) {
                opts.mysql_version = v;
            }
        }
    }
    Ok(())
}

pub async fn trace(
    url: &str,
    inputs: &Inputs,
    opts: &Options,
    findings: &[Finding],
) -> anyhow::Result<TraceReport> {
    if !inputs.loose.is_empty() {
        return Err(LintUsage(
            "--trace lints migrations of --dir (name them, or none for all): files outside the \
             directory have no place in its history to be traced at"
                .into(),
        )
        .into());
    }
    match opts.dialect {
        Dialect::Postgres => trace_pg(url, inputs, findings).await,
        Dialect::Mysql => trace_mysql(url, inputs, findings).await,
    }
}

fn sql_text(f: &MigrationFile) -> Option<&str> {
    match &f.body {
        MigrationBody::Sql(s) => Some(&s.up),
        MigrationBody::Operations(_) => None,
    }
}

async fn trace_pg(url: &str, inputs: &Inputs, findings: &[Finding]) -> anyhow::Result<TraceReport> {
    let spec = zdm_pg::ConnectionSpec::parse(url).map_err(zdm_pg::Error::from)?;
    let scratch = zdm_pg::trace::Scratch::create(&spec).await?;
    let result = trace_pg_on(&scratch, inputs, findings).await;
    scratch.drop().await?;
    result
}

async fn trace_pg_on(
    scratch: &zdm_pg::trace::Scratch,
    inputs: &Inputs,
    findings: &[Finding],
) -> anyhow::Result<TraceReport> {
    let client = scratch.connect().await?;
    let server: String = client
        .query_one(
            "SELECT 'PostgreSQL ' || current_setting('server_version')",
            &[],
        )
        .await?
        .get(0);
    let mut session = None;
    let mut report = TraceReport {
        files: Vec::new(),
        disagreements: Vec::new(),
    };
    for f in &inputs.dir_files {
        let path = f.path.display().to_string();
        let selected = inputs.selected.contains(&f.id);
        match (sql_text(f), selected) {
            (Some(text), true) => {
                let traces = zdm_pg::trace::trace_sql(scratch, text).await?;
                let ranges = statement_ranges(text, Dialect::Postgres);
                let mut statements = Vec::new();
                for t in traces {
                    let range = ranges
                        .iter()
                        .find(|r| r.start == t.offset)
                        .cloned()
                        .unwrap_or(0..0);
                    let here = findings_in(findings, &path, &range);
                    let strongest = t.strongest();
                    let existing_blocking: Vec<String> = strongest
                        .values()
                        .filter(|l| {
                            zdm_pg::trace::blocks_application(&l.mode)
                                && t.preexisting.contains(&l.relation)
                        })
                        .map(|l| format!("{} on {}", l.mode, l.relation))
                        .collect();
                    let rewrote_existing: Vec<&String> = t
                        .rewrites
                        .iter()
                        .filter(|r| t.preexisting.contains(r))
                        .collect();
                    let long_lock = strongest.values().any(|l| {
                        matches!(
                            l.mode.as_str(),
                            "SHARE" | "SHARE ROW EXCLUSIVE" | "EXCLUSIVE"
                        ) && t.preexisting.contains(&l.relation)
                    });
                    let claims_rewrite = here.iter().any(|f| PG_REWRITE_RULES.contains(&f.rule));
                    let disagreement = if t.error.is_some() {
                        None
                    } else if !rewrote_existing.is_empty() && here.is_empty() {
                        Some(format!(
                            "the server rewrote {} (under {}) but no rule flagged the statement",
                            rewrote_existing
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                            existing_blocking.join(", ")
                        ))
                    } else if long_lock && here.is_empty() {
                        Some(format!(
                            "the statement holds {} for its whole run but no rule flagged it",
                            existing_blocking.join(", ")
                        ))
                    } else if claims_rewrite
                        && rewrote_existing.is_empty()
                        && !t.preexisting.is_empty()
                    {
                        Some(
                            "a rule says this rewrites the table, but the server rewrote nothing"
                                .into(),
                        )
                    } else {
                        None
                    };
                    if let Some(d) = &disagreement {
                        report.disagreements.push(disagreement_finding(
                            &path,
                            text,
                            &range,
                            d.clone(),
                        ));
                    }
                    statements.push(TracedStatement {
                        line: t.line,
                        column: t.column,
                        sql: t.sql.clone(),
                        // Index reads (ACCESS SHARE on an index) and locks on what the statement
                        // itself created are noise in a lock report.
                        locks: strongest
                            .values()
                            .filter(|l| {
                                let index_read = l.kind == "i" && l.mode == "ACCESS SHARE";
                                !index_read && !t.created.contains(&l.relation)
                            })
                            .map(|l| {
                                format!("{} on {} (blocks {})", l.mode, l.relation, l.blocks())
                            })
                            .collect(),
                        rewrites: t.rewrites.clone(),
                        held_before: t
                            .held_before
                            .iter()
                            .filter(|l| zdm_pg::trace::blocks_application(&l.mode))
                            .map(|l| format!("{} on {}", l.mode, l.relation))
                            .collect(),
                        algorithm: None,
                        static_rules: here.iter().map(|f| f.rule.to_string()).collect(),
                        disagreement,
                        error: t.error.clone(),
                    });
                }
                report.files.push(TracedFile {
                    file: path,
                    server: server.clone(),
                    scratch_database: scratch.name.clone(),
                    statements,
                });
            }
            (Some(text), false) => {
                client.batch_execute(text).await.map_err(|e| {
                    anyhow::anyhow!(
                        "applying earlier migration {path} on the scratch database: {e}"
                    )
                })?;
            }
            (None, _) => {
                // Operation files are applied with zdm's own engine (start + complete).
                if session.is_none() {
                    session = Some(
                        zdm_pg::Session::open(
                            &scratch.spec,
                            "zdm",
                            zdm_pg::LockPolicy::default(),
                            "lint --trace",
                        )
                        .await?,
                    );
                }
                let s = session.as_mut().expect("just opened");
                let engine = zdm_pg::runner::operations::EngineOptions::default();
                zdm_pg::runner::operations::start(s, f, None, &engine, &zdm_pg::backfill::Quiet)
                    .await?;
                zdm_pg::runner::operations::complete(s, Some(&f.id)).await?;
            }
        }
    }
    Ok(report)
}

async fn trace_mysql(
    url: &str,
    inputs: &Inputs,
    findings: &[Finding],
) -> anyhow::Result<TraceReport> {
    let scratch = zdm_mysql::trace::Scratch::create(url).await?;
    let result = trace_mysql_on(&scratch, inputs, findings).await;
    scratch.drop().await?;
    result
}

async fn trace_mysql_on(
    scratch: &zdm_mysql::trace::Scratch,
    inputs: &Inputs,
    findings: &[Finding],
) -> anyhow::Result<TraceReport> {
    let server = zdm_mysql::trace::server_version(scratch).await?;
    let mut report = TraceReport {
        files: Vec::new(),
        disagreements: Vec::new(),
    };
    for f in &inputs.dir_files {
        let path = f.path.display().to_string();
        let Some(text) = sql_text(f) else {
            return Err(LintUsage(format!("{path}: operation files are PostgreSQL-only")).into());
        };
        let ranges = statement_ranges(text, Dialect::Mysql);
        let statements: Vec<String> = ranges.iter().map(|r| text[r.clone()].to_string()).collect();
        if !inputs.selected.contains(&f.id) {
            zdm_mysql::trace::apply(scratch, &statements).await?;
            continue;
        }
        let before = zdm_mysql::trace::tables(scratch).await?;
        let traces = zdm_mysql::trace::trace_statements(scratch, &statements).await?;
        let mut out = Vec::new();
        for (t, range) in traces.iter().zip(&ranges) {
            let (line, column) = zdm_core::sql::line_col(text, range.start);
            let here = findings_in(findings, &path, range);
            let existing: Vec<&String> = t.rebuilt.iter().filter(|r| before.contains(r)).collect();
            let touches_existing = t.table.as_ref().is_some_and(|tb| before.contains(tb));
            let blocking = t.algorithm.blocks_writes() && touches_existing;
            let claims = here.iter().any(|f| MY_BLOCKING_RULES.contains(&f.rule));
            let disagreement = if t.error.is_some() {
                None
            } else if blocking && here.is_empty() {
                Some(format!(
                    "the server ran this as {:?} (writes wait for the whole operation) but no rule flagged it",
                    t.algorithm
                ))
            } else if claims
                && matches!(
                    t.algorithm,
                    zdm_mysql::trace::Algorithm::Instant
                        | zdm_mysql::trace::Algorithm::InplaceLockNone
                )
            {
                Some(format!(
                    "a rule says this copies the table or blocks writes, but the server ran it as {:?}",
                    t.algorithm
                ))
            } else {
                None
            };
            if let Some(d) = &disagreement {
                report
                    .disagreements
                    .push(disagreement_finding(&path, text, range, d.clone()));
            }
            out.push(TracedStatement {
                line,
                column,
                sql: t.sql.clone(),
                locks: t
                    .metadata_locks
                    .as_ref()
                    .map(|ls| {
                        ls.iter()
                            .map(|l| format!("{} {} on {}", l.status, l.lock_type, l.object))
                            .collect()
                    })
                    .unwrap_or_else(|| {
                        vec!["metadata locks not recorded (performance_schema off)".into()]
                    }),
                rewrites: existing.into_iter().cloned().collect(),
                held_before: Vec::new(),
                algorithm: Some(format!("{:?}", t.algorithm)),
                static_rules: here.iter().map(|f| f.rule.to_string()).collect(),
                disagreement,
                error: t.error.clone(),
            });
        }
        report.files.push(TracedFile {
            file: path,
            server: server.clone(),
            scratch_database: scratch.name.clone(),
            statements: out,
        });
    }
    Ok(report)
}
