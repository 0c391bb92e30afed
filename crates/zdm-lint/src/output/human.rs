use super::Sources;
use crate::finding::{Finding, LineIndex};
use std::collections::HashMap;
use std::fmt::Write;

/// `file:line:col: severity[rule]: message`, the source line with a caret underline, the
/// lock, and the help. Line indexes are built once per file.
pub fn render(findings: &[Finding], sources: &dyn Sources) -> String {
    let mut out = String::new();
    let mut indexes: HashMap<&str, LineIndex> = HashMap::new();
    for f in findings {
        let _ = writeln!(
            out,
            "{}:{}:{}: {}[{}]: {}",
            f.file, f.line, f.column, f.severity, f.rule, f.message
        );
        if let Some(text) = sources.text(&f.file) {
            let idx = indexes
                .entry(f.file.as_str())
                .or_insert_with(|| LineIndex::new(text));
            let line = f.line.saturating_sub(1);
            let src = idx.line_text(text, line);
            let start_col = f.column.saturating_sub(1);
            let line_end_offset = idx.line_start(line) + src.len();
            let end = f.span.end.min(line_end_offset).max(f.span.start);
            let width = text
                .get(f.span.start.min(end)..end)
                .map(|s| s.chars().count())
                .unwrap_or(0)
                .max(1);
            let gutter = f.line.to_string().len();
            let _ = writeln!(out, "{:gutter$} |", "");
            let _ = writeln!(out, "{} | {}", f.line, src);
            let _ = writeln!(
                out,
                "{:gutter$} | {}{}",
                "",
                " ".repeat(start_col),
                "^".repeat(width)
            );
        }
        if let Some(l) = &f.locks {
            let _ = writeln!(out, "  = locks: {l}");
        }
        for (i, h) in f.help.lines().enumerate() {
            let _ = writeln!(out, "  {} {h}", if i == 0 { "= help:" } else { "       " });
        }
        out.push('\n');
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == crate::Severity::Error)
        .count();
    let warnings = findings
        .iter()
        .filter(|f| f.severity == crate::Severity::Warning)
        .count();
    let _ = writeln!(
        out,
        "{} finding(s): {errors} error(s), {warnings} warning(s)",
        findings.len()
    );
    out
}
