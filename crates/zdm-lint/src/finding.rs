//! What a rule reports: one hazard at one place in one file.

use crate::dialect::Options;
use crate::rules::RuleInfo;
use serde::Serialize;
use std::fmt;
use std::ops::Range;

/// How bad a finding is. `Error` fails `zdm lint`; `Warning` and `Info` are reported only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One hazard found by a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable rule id, e.g. `pg-index-create-not-concurrent`.
    pub rule: &'static str,
    pub severity: Severity,
    /// What the statement does wrong: what it locks, rewrites or breaks.
    pub message: String,
    /// The safe alternative, with SQL written for the statement at hand.
    pub help: String,
    /// The file as given to the linter (relative paths stay relative).
    pub file: String,
    /// Byte range in the file.
    pub span: Range<usize>,
    /// 1-based line of `span.start`.
    pub line: usize,
    /// 1-based column of `span.start`, counted in characters.
    pub column: usize,
    /// The lock taken or the thing broken, e.g.
    /// `SHARE on public.orders: blocks INSERT/UPDATE/DELETE for the whole index build`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locks: Option<String>,
}

/// Where both dialects' rule contexts send findings: the file being linted, its line index,
/// and the options that decide which rules report at all.
pub(crate) struct Reporter<'a> {
    pub opts: &'a Options,
    pub file: &'a str,
    pub text: &'a str,
    pub lines: &'a LineIndex,
    pub findings: Vec<Finding>,
}

impl<'a> Reporter<'a> {
    pub fn new(opts: &'a Options, file: &'a str, text: &'a str, lines: &'a LineIndex) -> Self {
        Reporter {
            opts,
            file,
            text,
            lines,
            findings: Vec::new(),
        }
    }

    /// Records a finding of `rule` at `span`, unless the options disable the rule.
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

    /// The file's text in `r`, or "" if `r` is not a valid range of it.
    pub fn slice(&self, r: &Range<usize>) -> &str {
        self.text.get(r.clone()).unwrap_or("")
    }
}

/// Converts byte offsets to 1-based line and column. The line starts are computed once, so
/// each lookup is a binary search and reporting stays linear in the number of findings.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// 0-based line number containing `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// Byte offset where 0-based `line` starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.starts.get(line).copied().unwrap_or(0)
    }

    /// The text of 0-based `line`, without its line break.
    pub fn line_text<'t>(&self, text: &'t str, line: usize) -> &'t str {
        let start = self.line_start(line).min(text.len());
        let end = self
            .starts
            .get(line + 1)
            .map(|e| e.saturating_sub(1))
            .unwrap_or(text.len())
            .min(text.len());
        text.get(start..end.max(start))
            .unwrap_or("")
            .trim_end_matches('\r')
    }

    /// 1-based (line, column) of `offset`; the column counts characters.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(text, offset);
        let line = self.line_of(offset);
        let start = self.line_start(line).min(offset);
        let col = text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(0);
        (line + 1, col + 1)
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }
}

pub(crate) fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_matches_core() {
        let text = "a\nbé c\n\nxyz";
        let idx = LineIndex::new(text);
        for off in 0..=text.len() {
            if text.is_char_boundary(off) {
                assert_eq!(idx.line_col(text, off), zdm_core::sql::line_col(text, off));
            }
        }
        assert_eq!(idx.line_text(text, 1), "bé c");
        assert_eq!(idx.line_text(text, 3), "xyz");
    }
}
