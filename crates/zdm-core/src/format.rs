//! Parsing pgroll-format migration files (YAML or JSON) with errors that say where: 1-based
//! line and column of the offending token, and what was expected.

use crate::operations::OperationsMigration;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Yaml,
    Json,
}

impl FileFormat {
    pub fn from_path(path: &Path) -> Option<FileFormat> {
        match path.extension()?.to_str()? {
            "yaml" | "yml" => Some(Self::Yaml),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

pub fn parse_operations(text: &str, format: FileFormat) -> Result<OperationsMigration, ParseError> {
    match format {
        FileFormat::Json => serde_json::from_str(text).map_err(|e| ParseError {
            line: e.line().max(1),
            column: e.column().max(1),
            message: strip_position(&e.to_string()),
        }),
        FileFormat::Yaml => serde_saphyr::from_str(text).map_err(|e| {
            let (line, column) = e
                .location()
                .map(|l| (l.line() as usize, l.column() as usize))
                .unwrap_or((1, 1));
            let first = e.to_string().lines().next().unwrap_or_default().to_string();
            ParseError {
                line: line.max(1),
                column: column.max(1),
                message: strip_position(&first),
            }
        }),
    }
}

/// Drop the position the parsers put into their messages; ParseError carries it.
fn strip_position(message: &str) -> String {
    let m = message.strip_prefix("error: ").unwrap_or(message);
    let m = match m.strip_prefix("line ") {
        Some(rest) => rest.split_once(": ").map(|(_, msg)| msg).unwrap_or(rest),
        None => m,
    };
    match m.rfind(" at line ") {
        Some(i) => m[..i].to_string(),
        None => m.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str, f: FileFormat) -> ParseError {
        parse_operations(text, f).unwrap_err()
    }

    #[test]
    fn yaml_errors_point_at_the_problem() {
        let e = err(
            "operations:\n  - explode_table:\n      name: t\n",
            FileFormat::Yaml,
        );
        assert_eq!((e.line, e.column), (2, 5));
        assert!(
            e.message
                .starts_with("unknown variant `explode_table`, expected one of"),
            "{e}"
        );
        let e = err(
            "operations:\n  - create_table:\n      name: t\n      columns:\n        - name: id\n          type: int\n          colour: red\n",
            FileFormat::Yaml,
        );
        assert_eq!((e.line, e.column), (7, 11));
        assert!(
            e.message
                .starts_with("unknown field `colour`, expected one of"),
            "{e}"
        );
        let e = err(
            "operations:\n  - create_table:\n      columns: []\n",
            FileFormat::Yaml,
        );
        assert_eq!((e.line, e.column), (3, 7));
        assert_eq!(e.message, "missing field `name`");
        let e = err(
            "operations:\n  - create_table:\n      name: t\n      columns: [\n",
            FileFormat::Yaml,
        );
        assert_eq!(e.line, 4, "{e}");
    }

    #[test]
    fn json_errors_point_at_the_problem() {
        let e = err(
            "{\"operations\": [\n  {\"create_table\": {\"name\": \"t\",}}\n]}",
            FileFormat::Json,
        );
        assert_eq!(e.line, 2);
        let e = err(
            "{\"operations\": [{\"drop_index\": {\"name\": \"i\", \"colour\": 1}}]}",
            FileFormat::Json,
        );
        assert!(e.message.starts_with("unknown field `colour`"), "{e}");
        assert_eq!(e.line, 1);
    }
}
