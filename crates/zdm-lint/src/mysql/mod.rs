//! MySQL / MariaDB: split and tokenize by hand (`lexer`), recognise statement shapes
//! (`parse`), run the rules, replay into the catalog. Files never run as one transaction:
//! every DDL statement commits implicitly.

pub(crate) mod lexer;
pub(crate) mod model;
mod parse;
mod replay;

use crate::dialect::Options;
use crate::finding::{Finding, LineIndex, Reporter};
use crate::rules::RuleInfo;
use crate::schema::{QName, Schema};
use model::Stmt;

pub(crate) struct Cx<'a> {
    pub out: Reporter<'a>,
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
}

impl Cx<'_> {
    pub fn existing(&self, table: &QName) -> bool {
        !self.schema.is_new(table)
    }
}

pub(crate) fn lint(path: &str, text: &str, opts: &Options, schema: &mut Schema) -> Vec<Finding> {
    let lines = LineIndex::new(text);
    let lexed = lexer::lex(text);
    let stmts: Vec<Stmt> = lexed.stmts.iter().map(parse::statement).collect();
    let mut cx = Cx {
        out: Reporter::new(opts, path, text, &lines),
        schema,
        lock_wait_timeout: None,
        foreign_key_checks_off: false,
        alter_algorithm: None,
        in_tx: false,
        ddl_seen: 0,
        reported_lock_wait: false,
    };
    for st in &stmts {
        for (_, check) in crate::rules::mysql::RULES {
            check(&mut cx, st);
        }
        replay::apply(&mut cx, st);
    }
    let findings = std::mem::take(&mut cx.out.findings);
    let starts: Vec<usize> = stmts.iter().map(|s| s.range.start).collect();
    let ignores = crate::ignore::parse(text, &lexed.comments, &lines);
    let enabled = |r: &RuleInfo| opts.rule_enabled(r.id, r.default_enabled);
    crate::ignore::apply(text, path, &lines, &starts, ignores, findings, &enabled)
}
