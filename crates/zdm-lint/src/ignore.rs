//! Ignore comments.
//!
//! * `-- zdm-lint: ignore <rule-id>[, <rule-id>] -- <reason>` on the line(s) directly before a
//!   statement, or at the end of its first line, silences those rules for that statement.
//! * `-- zdm-lint: ignore-file <rule-id>[, …] -- <reason>` anywhere silences them for the file.
//!
//! A missing reason is reported (`lint-ignore-without-reason`) but the ignore still applies, so
//! the author sees one clear finding. Ignores that silenced nothing are reported
//! (`lint-unused-ignore`). MySQL's `#` comments work too.

use crate::finding::{Finding, LineIndex};
use crate::rules::meta::{IGNORE_WITHOUT_REASON, UNUSED_IGNORE};
use crate::rules::RuleInfo;
use std::ops::Range;

#[derive(Debug, Clone)]
pub(crate) struct Ignore {
    pub rules: Vec<String>,
    pub reason: Option<String>,
    pub file_level: bool,
    /// 0-based line of the comment.
    pub line: usize,
    pub span: Range<usize>,
    pub used: bool,
}

const MARKER: &str = "zdm-lint:";

/// Parses the ignore directives in `comments` (byte ranges of comments in `text`).
pub(crate) fn parse(text: &str, comments: &[Range<usize>], lines: &LineIndex) -> Vec<Ignore> {
    let mut out = Vec::new();
    for r in comments {
        let Some(c) = text.get(r.clone()) else {
            continue;
        };
        let body = c
            .trim_start_matches("--")
            .trim_start_matches('#')
            .trim_start_matches("/*")
            .trim_end_matches("*/")
            .trim();
        let Some(rest) = body.strip_prefix(MARKER) else {
            continue;
        };
        let rest = rest.trim_start();
        let (file_level, rest) = if let Some(r) = rest.strip_prefix("ignore-file") {
            (true, r)
        } else if let Some(r) = rest.strip_prefix("ignore") {
            (false, r)
        } else {
            continue;
        };
        let (ids, reason) = match rest.split_once("--") {
            Some((ids, reason)) => (
                ids,
                Some(reason.trim().to_string()).filter(|r| !r.is_empty()),
            ),
            None => (rest, None),
        };
        let rules = ids
            .split([',', ' ', '\t'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        out.push(Ignore {
            rules,
            reason,
            file_level,
            line: lines.line_of(r.start),
            span: r.clone(),
            used: false,
        });
    }
    out
}

/// Lines that hold only a comment (or are inside one) — an ignore block may span several.
fn comment_only_lines(text: &str, lines: &LineIndex) -> Vec<bool> {
    let mut only = vec![false; lines.line_count()];
    for (i, slot) in only.iter_mut().enumerate() {
        let l = lines.line_text(text, i).trim_start();
        *slot = l.starts_with("--") || l.starts_with('#') || l.starts_with("/*");
    }
    only
}

/// Applies `ignores` to `findings`: drops silenced findings, then adds the ignore findings.
/// `stmt_starts` are the byte offsets where statements start, ascending.
pub(crate) fn apply(
    text: &str,
    file: &str,
    lines: &LineIndex,
    stmt_starts: &[usize],
    mut ignores: Vec<Ignore>,
    findings: Vec<Finding>,
    enabled: &dyn Fn(&RuleInfo) -> bool,
) -> Vec<Finding> {
    let only = comment_only_lines(text, lines);
    let mut out = Vec::with_capacity(findings.len());
    for f in findings {
        // The statement containing the finding: the last one starting at or before it.
        let idx = stmt_starts.partition_point(|&s| s <= f.span.start);
        let stmt_start = if idx == 0 {
            f.span.start
        } else {
            stmt_starts[idx - 1]
        };
        let first_line = lines.line_of(stmt_start);
        let mut silenced = false;
        for ig in ignores.iter_mut() {
            if !ig.rules.iter().any(|r| r == f.rule || r == "all") {
                continue;
            }
            let applies = ig.file_level || ig.line == first_line || {
                // A block of comment-only lines directly above the statement.
                ig.line < first_line
                    && (ig.line..first_line).all(|l| only.get(l).copied().unwrap_or(false))
            };
            if applies {
                ig.used = true;
                silenced = true;
            }
        }
        if !silenced {
            out.push(f);
        }
    }
    for ig in &ignores {
        let (line, column) = lines.line_col(text, ig.span.start);
        let mk = |rule: &'static RuleInfo, message: String, help: String| Finding {
            rule: rule.id,
            severity: rule.severity,
            message,
            help,
            file: file.to_string(),
            span: ig.span.clone(),
            line,
            column,
            locks: None,
        };
        if ig.reason.is_none() && enabled(&IGNORE_WITHOUT_REASON) {
            out.push(mk(
                &IGNORE_WITHOUT_REASON,
                format!("ignore of {} has no reason", ig.rules.join(", ")),
                format!(
                    "Say why it is safe: -- zdm-lint: {} {} -- <reason>",
                    if ig.file_level {
                        "ignore-file"
                    } else {
                        "ignore"
                    },
                    ig.rules.join(", ")
                ),
            ));
        }
        if !ig.used && enabled(&UNUSED_IGNORE) {
            out.push(mk(
                &UNUSED_IGNORE,
                format!("ignore of {} silences nothing", ig.rules.join(", ")),
                "Remove it, or move it to the line directly before the statement it is meant for."
                    .into(),
            ));
        }
    }
    out.sort_by(|a, b| a.span.start.cmp(&b.span.start).then(a.rule.cmp(b.rule)));
    out
}
