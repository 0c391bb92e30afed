use crate::finding::{Finding, Severity};

/// Escapes a workflow-command message (data): `%`, `\r`, `\n`.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value: the data escapes plus `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions annotations: `::error file=…,line=…,col=…,title=…::message`.
pub fn render(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let cmd = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut msg = f.message.clone();
        if let Some(l) = &f.locks {
            msg.push_str(&format!("\nlocks: {l}"));
        }
        msg.push_str(&format!("\n{}", f.help));
        out.push_str(&format!(
            "::{cmd} file={},line={},col={},title={}::{}\n",
            escape_property(&f.file),
            f.line,
            f.column,
            escape_property(&format!("{} ({})", f.rule, f.severity)),
            escape_data(&msg)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(escape_data("a:b,c%\r\n"), "a:b,c%25%0D%0A");
    }
}
