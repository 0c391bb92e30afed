//! MySQL / MariaDB: split and tokenize by hand (`lexer`), recognise statement shapes
//! (`parse`), run the rules, replay into the catalog. Files never run as one transaction:
//! every DDL statement commits implicitly.

pub(crate) mod lexer;
pub(crate) mod model;
mod parse;
mod replay;

use crate::dialect::Options;
use crate::finding::{Finding, LineIndex};
use crate::rules::RuleInfo;
use crate::schema::{QName, Schema};
use model::Stmt;
use std::ops::Range;

pub(crate) struct Cx<'a> {
    pub opts: &'a Options,
    pub file: &'a str,
    pub text: &'a str,
    pub lines: &'a LineIndex,
    pub schema: &'a mut Schema,
    /// `SET [SESSION] lock_wait_timeout = n` seen (seconds).
    pub lock_wait_timeout: Option<f64>,
    pub foreign_key_checks_off: bool,
    /// MariaDB's `SET alter_algorithm = …` (the session default ALGORITHM).
    pub alter_algorithm: Option<String>,
    pub in_tx: bool,
    /// DDL statements so far in this file (each commits implicitly).
    pub ddl_seen: usize,
    pub reported_lock_wait: bool,
    pub findings: Vec<Finding>,
}

impl Cx<'_> {
    pub fn existing(&self, table: &QName) -> bool {
        !self.schema.is_new(table)
    }

    pub fn report(
        &mut self,
        rule: &'static RuleInfo,
        span: Range<usize>,
        message: String,
        help: String,
        locks: Option<String>,
    ) {
        if !self.opts.rule_enabled(rule.id, rule.default_enabled) {
            return;
        }
        let (line, column) = self.lines.line_col(self.text, span.start);
        self.findings.push(Finding {
            rule: rule.id,
            severity: rule.severity,
            message,
            help,
            file: self.file.to_string(),
            span,
            line,
            column,
            locks,
        });
    }

    pub fn slice(&self, r: &Range<usize>) -> &str {
        self.text.get(r.clone()).unwrap_or("")
    }
}

pub(crate) fn lint(path: &str, text: &str, opts: &Options, schema: &mut Schema) -> Vec<Finding> {
    let lines = LineIndex::new(text);
    let lexed = lexer::lex(text);
    let stmts: Vec<Stmt> = lexed.stmts.iter().map(parse::statement).collect();
    let mut cx = Cx {
        opts,
        file: path,
        text,
        lines: &lines,
        schema,
        lock_wait_timeout: None,
        foreign_key_checks_off: false,
        alter_algorithm: None,
        in_tx: false,
        ddl_seen: 0,
        reported_lock_wait: false,
        findings: Vec::new(),
    };
    for st in &stmts {
        for (_, check) in crate::rules::mysql::RULES {
            check(&mut cx, st);
        }
        replay::apply(&mut cx, st);
    }
    let findings = std::mem::take(&mut cx.findings);
    let starts: Vec<usize> = stmts.iter().map(|s| s.range.start).collect();
    let ignores = crate::ignore::parse(text, &lexed.comments, &lines);
    let enabled = |r: &RuleInfo| opts.rule_enabled(r.id, r.default_enabled);
    crate::ignore::apply(text, path, &lines, &starts, ignores, findings, &enabled)
}
