use crate::finding::Finding;
use serde::Serialize;

/// The JSON shape (stable; new keys may be added, none removed or renamed):
///
/// ```json
/// {"version": 1, "findings": [{"rule": "pg-set-not-null", "severity": "error",
///   "message": "…", "help": "…", "file": "migrations/0003.sql",
///   "span": {"start": 120, "end": 170}, "line": 4, "column": 5, "locks": "…" | null}],
///  "summary": {"error": 1, "warning": 0, "info": 0}}
/// ```
/// `span` is a byte range in the file; `line` and `column` are 1-based (column in characters).
pub fn render(findings: &[Finding]) -> String {
    // Serialised straight from borrowed structs: no intermediate `Value` tree, so large
    // reports cost one pass and little memory.
    #[derive(Serialize)]
    struct Span {
        start: usize,
        end: usize,
    }
    #[derive(Serialize)]
    struct Item<'a> {
        rule: &'a str,
        severity: &'a str,
        message: &'a str,
        help: &'a str,
        file: &'a str,
        span: Span,
        line: usize,
        column: usize,
        locks: Option<&'a str>,
    }
    #[derive(Serialize)]
    struct Summary {
        error: usize,
        warning: usize,
        info: usize,
    }
    #[derive(Serialize)]
    struct Doc<'a> {
        version: u32,
        findings: Vec<Item<'a>>,
        summary: Summary,
    }
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    let doc = Doc {
        version: 1,
        findings: findings
            .iter()
            .map(|f| Item {
                rule: f.rule,
                severity: f.severity.as_str(),
                message: &f.message,
                help: &f.help,
                file: &f.file,
                span: Span {
                    start: f.span.start,
                    end: f.span.end,
                },
                line: f.line,
                column: f.column,
                locks: f.locks.as_deref(),
            })
            .collect(),
        summary: Summary {
            error: count(crate::Severity::Error),
            warning: count(crate::Severity::Warning),
            info: count(crate::Severity::Info),
        },
    };
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
