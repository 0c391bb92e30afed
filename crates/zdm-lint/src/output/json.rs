use crate::finding::Finding;
use serde_json::{json, Value};

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
    let items: Vec<Value> = findings
        .iter()
        .map(|f| {
            json!({
                "rule": f.rule,
                "severity": f.severity.as_str(),
                "message": f.message,
                "help": f.help,
                "file": f.file,
                "span": {"start": f.span.start, "end": f.span.end},
                "line": f.line,
                "column": f.column,
                "locks": f.locks,
            })
        })
        .collect();
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    let doc = json!({
        "version": 1,
        "findings": items,
        "summary": {
            "error": count(crate::Severity::Error),
            "warning": count(crate::Severity::Warning),
            "info": count(crate::Severity::Info),
        }
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
