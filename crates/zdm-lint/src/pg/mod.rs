//! PostgreSQL: parse with squawk-syntax (error tolerant, so PL/pgSQL bodies, `DO` blocks and
//! dollar quoting stay inside their statements), extract each statement's facts, run the rules,
//! then replay the statement into the schema and the transaction state.

pub(crate) mod analyze;
pub(crate) mod locks;
pub(crate) mod model;
mod replay;
pub(crate) mod syntax;

use crate::dialect::Options;
use crate::finding::{LineIndex, Reporter};
use crate::schema::{QName, Schema};
use locks::LockMode;
use model::Stmt;
use squawk_syntax::ast::SourceFile;
use squawk_syntax::SyntaxKind;
use std::collections::BTreeMap;
use std::ops::Range;

/// Transaction state while walking a file.
#[derive(Debug, Default)]
pub(crate) struct Tx {
    /// Inside BEGIN … COMMIT written in the file.
    pub explicit: bool,
    /// Where the explicit BEGIN is, for tx-uncommitted.
    pub begin_at: Option<Range<usize>>,
    /// zdm wraps the whole file in a transaction.
    pub implied: bool,
    /// The strongest write-blocking lock taken on a pre-existing table in this transaction.
    pub strong: Option<(QName, LockMode)>,
    /// Constraints added NOT VALID in this transaction: (table, constraint name).
    pub not_valid: Vec<(QName, String)>,
    pub hold_reported: bool,
}

impl Tx {
    pub fn active(&self) -> bool {
        self.explicit || self.implied
    }
}

/// What the rules see: options, the catalog as it was before the statement, the
/// transaction, and where to report.
pub(crate) struct Cx<'a> {
    pub out: Reporter<'a>,
    pub schema: &'a mut Schema,
    pub tx: Tx,
    pub lock_timeout: bool,
    pub statement_timeout: bool,
    /// ALTER TABLE statements per pre-existing table in this file.
    pub alters: BTreeMap<QName, Vec<Range<usize>>>,
    /// FOREIGN KEYs seen (table, columns, where), checked for an index at the end of the file.
    pub pending_fks: Vec<(QName, Vec<String>, Range<usize>)>,
    pub reported_lock_timeout: bool,
    pub reported_statement_timeout: bool,
    /// Statements that cannot run in a transaction are run on their own by the runner
    /// (operation SQL), so only an explicit BEGIN makes them fail.
    pub concurrent_split_out: bool,
    /// Constraint names (lower case) dropped IF EXISTS and not re-added since (idempotent-ddl).
    pub guarded_constraints: std::collections::HashSet<String>,
}

impl Cx<'_> {
    /// Whether `table` existed before this file (unknown tables are assumed to exist).
    pub fn existing(&self, table: &QName) -> bool {
        !self.schema.is_new(table)
    }

    /// Whether PostgreSQL refuses `st` inside a transaction (zdm_core's classification).
    pub fn must_run_outside_transaction(&self, st: &Stmt) -> bool {
        must_run_outside_transaction(self.out.text, &st.range)
    }
}

/// Whether PostgreSQL refuses the statement at `range` of `text` inside a transaction:
/// zdm_core's classification applied to our own statement ranges (its splitter computes line
/// numbers from the start of the file per statement, which is quadratic on huge files).
pub(crate) fn must_run_outside_transaction(text: &str, range: &Range<usize>) -> bool {
    zdm_core::sql::Statement {
        text: text.get(range.clone()).unwrap_or("").to_string(),
        offset: range.start,
        line: 0,
        column: 0,
    }
    .must_run_outside_transaction()
}

/// The statements of a file, each with its range, for ignore comments; and comment ranges.
pub(crate) struct Parsed {
    pub stmts: Vec<Stmt>,
    pub comments: Vec<Range<usize>>,
    pub errors: Vec<(Range<usize>, String)>,
}

pub(crate) fn parse(text: &str) -> Parsed {
    let parse = SourceFile::parse(text);
    let root = parse.syntax_node();
    let stmts = root
        .children()
        .filter(|n| n.kind() != SyntaxKind::EMPTY_STMT)
        .map(|n| analyze::statement(&n))
        .collect();
    let comments = root
        .descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .filter(|t| t.kind() == SyntaxKind::COMMENT)
        .map(|t| {
            let r = t.text_range();
            usize::from(r.start())..usize::from(r.end())
        })
        .collect();
    let errors = parse
        .errors()
        .iter()
        .map(|e| {
            let r = e.range();
            (
                usize::from(r.start())..usize::from(r.end()),
                e.message().to_string(),
            )
        })
        .collect();
    Parsed {
        stmts,
        comments,
        errors,
    }
}

/// Lints one parsed file, replaying it into `schema`.
pub(crate) fn lint(cx: &mut Cx, parsed: &Parsed) {
    cx.tx.implied = cx.out.opts.in_transaction;
    for st in &parsed.stmts {
        for (_, check) in crate::rules::pg::RULES {
            check(cx, st);
        }
        replay::apply(cx, st);
    }
    crate::rules::pg::finish(cx);
}

impl<'a> Cx<'a> {
    pub fn new(
        opts: &'a Options,
        file: &'a str,
        text: &'a str,
        lines: &'a LineIndex,
        schema: &'a mut Schema,
    ) -> Self {
        Cx {
            out: Reporter::new(opts, file, text, lines),
            schema,
            tx: Tx::default(),
            lock_timeout: false,
            statement_timeout: false,
            alters: BTreeMap::new(),
            pending_fks: Vec::new(),
            reported_lock_timeout: false,
            reported_statement_timeout: false,
            concurrent_split_out: false,
            guarded_constraints: Default::default(),
        }
    }
}
