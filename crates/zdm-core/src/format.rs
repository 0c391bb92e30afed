//! Parsing pgroll-format migration files (YAML or JSON) with errors that say where: the 1-based
//! line and character column of the offending token, and what was expected.
//!
//! Both parsers report a position for every error, but not always the most useful one, so it
//! is adjusted here:
//! - serde_json reports the last byte it consumed: the closing quote of an unknown key or of a
//!   wrongly typed string, the `}` of an object missing a field. Errors point at the start of
//!   the token instead, and at the opening `{` of an object missing a field.
//! - serde-saphyr reports a missing field at the last key it read in the mapping (a
//!   thread-local fallback inside serde-saphyr); errors point at the mapping's first key
//!   instead. A node of the wrong shape found out only at the next event, on a later line
//!   (`- drop_table` with no mapping), points at that node. Should serde-saphyr ever give no
//!   location, the error points at the first occurrence of the offending key, else at 1:1.
//!
//! Messages are serde's ("unknown field `x`, expected one of ..."), with unknown variants
//! called unknown operations, and serde-saphyr's terse type errors ("invalid boolean",
//! "expected sequence start") rephrased to say what was expected and what was found.

use crate::operations::OperationsMigration;
use serde_saphyr::{Error as YamlError, MessageFormatter};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Yaml,
    Json,
}

impl FileFormat {
    /// By extension, as pgroll: `.yaml`, `.yml`, `.json`.
    pub fn from_path(path: &Path) -> Option<FileFormat> {
        match path.extension()?.to_str()? {
            "yaml" | "yml" => Some(Self::Yaml),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// Where a file fails to parse: 1-based line and column (in characters), and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parse a pgroll migration. Syntax and shape only (unknown fields and operations, types,
/// required fields); [`OperationsMigration::validate`] checks the content.
pub fn parse_operations(text: &str, format: FileFormat) -> Result<OperationsMigration, ParseError> {
    match format {
        FileFormat::Json => {
            // Editors that write a byte-order mark do not count it as a column.
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            serde_json::from_str(text).map_err(|e| json_error(text, &e))
        }
        FileFormat::Yaml => serde_saphyr::from_str(text).map_err(|e| yaml_error(text, &e)),
    }
}

fn json_error(text: &str, e: &serde_json::Error) -> ParseError {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let mut message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    // serde_json counts the bytes of the line it consumed: column N is byte N - 1 of the line.
    let line_start = line_offset(text, e.line().max(1));
    let mut at = line_start + e.column().saturating_sub(1);
    match e.classify() {
        serde_json::error::Category::Data => {
            at = if message.starts_with("missing field") {
                opening_brace(text, at).unwrap_or(at)
            } else {
                token_start(text, at)
            };
        }
        // Well-formed JSON fails with a syntax error only where serde expects the single key
        // of an externally tagged enum, or the `}` after it: an operation object with no key
        // or with a second one.
        serde_json::error::Category::Syntax
            if message == "expected value"
                && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() =>
        {
            let rest = text.get(at..).unwrap_or_default();
            let skip = rest.strip_prefix('}').map_or(0, |_| 1);
            let next = rest[skip..]
                .find(|c: char| c != ',' && !c.is_whitespace())
                .map(|i| at + skip + i);
            match next.filter(|&i| text.as_bytes()[i] == b'"') {
                Some(key) => {
                    message = SECOND_KEY.into();
                    at = key;
                }
                None => {
                    message = NO_KEY.into();
                    at = text[..at].rfind('{').unwrap_or(at);
                }
            }
        }
        _ => {}
    }
    // `["drop_table"]`: serde takes a bare string for a variant without fields.
    if message == "invalid type: unit variant, expected newtype variant" {
        message = NO_FIELDS.into();
        if let Some(close) = text[..at.min(text.len())].rfind('"') {
            at = token_start(text, close);
        }
    }
    let (line, column) = position_of(text, at);
    ParseError {
        line,
        column,
        message: name_operations(message),
    }
}

const SECOND_KEY: &str =
    "an operation has exactly one key, the operation's name; found a second key";
const NO_KEY: &str = "expected an operation: a mapping whose one key is the operation's name";
const NO_FIELDS: &str =
    "expected an operation: a mapping from the operation's name to its fields; found only a name";

fn yaml_error(text: &str, e: &YamlError) -> ParseError {
    let cause = root_cause(e);
    let at = e
        .location()
        .filter(|l| l.line() > 0 && l.column() > 0)
        .map(|l| (l.line() as usize, l.column() as usize))
        .map(|at| match cause {
            // Found out at the next event, at the start of a later line: the node at fault is
            // the one before (`- drop_table` without its mapping).
            YamlError::Unexpected { .. } if at.1 == 1 && rest_of_line(text, at).is_empty() => {
                previous_token(text, at).unwrap_or(at)
            }
            _ => at,
        });
    let message = yaml_message(text, cause, at);
    let (line, column) = match (cause, at) {
        (YamlError::SerdeMissingField { .. }, Some(at)) => mapping_start(text, at),
        (_, Some(at)) => at,
        (_, None) => fallback_location(text, cause),
    };
    ParseError {
        line,
        column,
        message,
    }
}

/// The error itself, without serde-saphyr's wrappers (source snippet, alias context).
fn root_cause(mut e: &YamlError) -> &YamlError {
    loop {
        e = match e {
            YamlError::WithSnippet { error, .. } | YamlError::AliasError { error, .. } => error,
            other => return other,
        }
    }
}

fn yaml_message(text: &str, cause: &YamlError, at: Option<(usize, usize)>) -> String {
    let found = || at.map_or_else(|| "nothing".to_string(), |at| describe_node(text, at));
    match cause {
        YamlError::InvalidScalar { ty, .. } => {
            let expected = match *ty {
                "boolean" => "a boolean (true or false)".to_string(),
                other => format!("{} {other}", article(other)),
            };
            format!("invalid type: expected {expected}, found {}", found())
        }
        YamlError::Unexpected { expected, .. }
            if matches!(
                *expected,
                "sequence start" | "mapping start" | "string scalar"
            ) =>
        {
            let expected = match *expected {
                "sequence start" => "a sequence",
                "mapping start" => "a mapping",
                _ => "a string",
            };
            format!("invalid type: expected {expected}, found {}", found())
        }
        YamlError::NullIntoString { .. } => "invalid type: expected a string, found null".into(),
        YamlError::ExpectedMappingEndAfterEnumVariantValue { .. } => SECOND_KEY.into(),
        YamlError::ExpectedStringKeyForExternallyTaggedEnum { .. } => NO_KEY.into(),
        YamlError::MultipleDocuments { .. } => {
            "a migration file holds one YAML document; found a second (after `---`)".into()
        }
        YamlError::DuplicateMappingKey { key: Some(key), .. } => format!("duplicate key `{key}`"),
        YamlError::DuplicateMappingKey { key: None, .. } => "duplicate key".into(),
        YamlError::Eof { .. }
            if text.lines().all(|l| {
                let l = l.trim();
                l.is_empty() || l.starts_with('#') || l == "---"
            }) =>
        {
            "the file is empty: expected a mapping with an `operations` list".into()
        }
        other => name_operations(
            serde_saphyr::DefaultMessageFormatter
                .format_message(other)
                .into_owned(),
        ),
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// What the YAML at `at` is, for "found ...": a scalar quoted from the text, or its kind.
fn describe_node(text: &str, at: (usize, usize)) -> String {
    let rest = rest_of_line(text, at);
    if rest.is_empty() {
        "null".into()
    } else if rest.starts_with(['"', '\'']) {
        format!("`{rest}`")
    } else if rest.starts_with('[') || rest == "-" || rest.starts_with("- ") {
        "a sequence".into()
    } else if rest.starts_with('{') || rest.ends_with(':') || rest.contains(": ") {
        "a mapping".into()
    } else {
        format!("`{rest}`")
    }
}

/// The text of line `at.0` from character column `at.1`, without a trailing comment, nor the
/// `:` serde-saphyr points at for an empty value.
fn rest_of_line(text: &str, (line, column): (usize, usize)) -> &str {
    let l = text.lines().nth(line - 1).unwrap_or_default();
    let from = l.char_indices().nth(column - 1).map_or(l.len(), |(i, _)| i);
    let rest = l[from..].strip_prefix(':').unwrap_or(&l[from..]);
    let rest = if rest.starts_with('#') { "" } else { rest };
    rest.find(" #").map_or(rest, |i| &rest[..i]).trim()
}

/// The start of the last token before `at`, skipping blank and comment lines.
fn previous_token(text: &str, (line, _): (usize, usize)) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().take(line - 1).collect();
    let (n, l) = lines.iter().enumerate().rev().find(|(_, l)| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    })?;
    let content = l.find(" #").map_or(*l, |i| &l[..i]).trim_end();
    let start = content.rfind(char::is_whitespace).map_or(0, |i| i + 1);
    Some((n + 1, content[..start].chars().count() + 1))
}

/// serde-saphyr places a missing field at the last key read in the mapping; move to its first
/// key, walking up over sibling keys at the same indentation. Only for block mappings: a key
/// with anything but indentation or `- ` item markers before it stays where it is.
fn mapping_start(text: &str, (line, column): (usize, usize)) -> (usize, usize) {
    let lines: Vec<&str> = text.lines().collect();
    let Some(here) = lines.get(line - 1) else {
        return (line, column);
    };
    let indent = column - 1;
    if key_indent(here) != indent || here[..indent].contains('-') {
        // Not a block key, or the first key of a sequence item already.
        return (line, column);
    }
    let mut start = line;
    for n in (1..line).rev() {
        let l = lines[n - 1];
        let trimmed = l.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let spaces = l.len() - trimmed.len();
        if spaces > indent {
            continue; // inside the value of an earlier sibling
        }
        if spaces == indent && !trimmed.starts_with('-') {
            start = n; // an earlier sibling key
            continue;
        }
        if key_indent(l) == indent {
            start = n; // `- key:` whose item mapping this is
        }
        break;
    }
    (start, column)
}

/// Where the first key of a line starts: after indentation and `- ` item markers.
fn key_indent(line: &str) -> usize {
    let b = line.as_bytes();
    let mut i = 0;
    loop {
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        if b.get(i) == Some(&b'-') && matches!(b.get(i + 1), None | Some(b' ')) {
            i += 1;
        } else {
            return i;
        }
    }
}

/// Best effort when serde-saphyr gives no location: the first occurrence of the offending key
/// written as a key, else the end of the text for an unexpected end, else 1:1.
fn fallback_location(text: &str, cause: &YamlError) -> (usize, usize) {
    let key = match cause {
        YamlError::SerdeUnknownField { field, .. } => Some(field.as_str()),
        YamlError::SerdeUnknownVariant { variant, .. } => Some(variant.as_str()),
        _ => None,
    };
    if let Some(at) = key.and_then(|k| find_key(text, k)) {
        return at;
    }
    if matches!(cause, YamlError::Eof { .. }) {
        return position_of(text, text.len());
    }
    (1, 1)
}

/// The position of `key` written as a mapping key (`key:`, `"key":`, `{key: …`).
fn find_key(text: &str, key: &str) -> Option<(usize, usize)> {
    let mut offset = 0;
    for l in text.split_inclusive('\n') {
        for (i, _) in l.match_indices(key) {
            let before = l[..i].chars().next_back();
            let quoted = matches!(before, Some('"' | '\''));
            let start = if quoted { i - 1 } else { i };
            let boundary = l[..start]
                .chars()
                .next_back()
                .is_none_or(|c| c.is_whitespace() || matches!(c, '-' | '{' | ','));
            let mut after = l[i + key.len()..].chars();
            let mut next = after.next();
            if quoted && matches!(next, Some('"' | '\'')) {
                next = after.next();
            }
            if boundary && next == Some(':') {
                return Some(position_of(text, offset + start));
            }
        }
        offset += l.len();
    }
    None
}

/// serde names enum variants; the only enum in a migration file is the operation.
fn name_operations(message: String) -> String {
    if message.contains("create_table") {
        if let Some(rest) = message.strip_prefix("unknown variant ") {
            return format!("unknown operation {rest}");
        }
    }
    message
}

/// The byte offset where 1-based `line` starts (the end of the text past the last line).
fn line_offset(text: &str, line: usize) -> usize {
    text.split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum()
}

/// 1-based line and character column of a byte offset.
fn position_of(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// The start of the JSON token whose last byte is at `at`: the opening quote of a string, the
/// first character of a number or literal. Anything else (`{`, `[`) is its own start.
fn token_start(text: &str, at: usize) -> usize {
    let b = text.as_bytes();
    let scalar = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'+' | b'-');
    match b.get(at) {
        Some(b'"') => (0..at)
            .rev()
            .find(|&i| {
                b[i] == b'"' && b[..i].iter().rev().take_while(|&&c| c == b'\\').count() % 2 == 0
            })
            .unwrap_or(at),
        Some(&c) if scalar(c) => {
            let mut i = at;
            while i > 0 && scalar(b[i - 1]) {
                i -= 1;
            }
            i
        }
        _ => at,
    }
}

/// The `{` or `[` matching the `}` or `]` at `close`.
fn opening_brace(text: &str, close: usize) -> Option<usize> {
    let b = text.as_bytes();
    if !matches!(b.get(close), Some(b'}' | b']')) {
        return None;
    }
    let mut open = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    for (i, &c) in b[..close].iter().enumerate() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'{' | b'[' => open.push(i),
            b'}' | b']' => {
                open.pop();
            }
            _ => {}
        }
    }
    open.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_characters() {
        let text = "ab\nçd\n";
        assert_eq!(position_of(text, 0), (1, 1));
        assert_eq!(position_of(text, 3), (2, 1));
        assert_eq!(position_of(text, 5), (2, 2)); // after the two-byte ç
        assert_eq!(position_of(text, 99), (3, 1));
        assert_eq!(line_offset(text, 2), 3);
    }

    #[test]
    fn json_tokens_start_at_their_first_character() {
        let text = r#"{"a": "x\"y", "b": -1.5e3}"#;
        let close = text.find("\", \"b").unwrap();
        assert_eq!(token_start(text, close), text.find("\"x").unwrap());
        let num_end = text.find("e3").unwrap() + 1;
        assert_eq!(token_start(text, num_end), text.find("-1").unwrap());
        let text = r#"{"a": {"s": "}"}, "b": [1]}"#;
        assert_eq!(opening_brace(text, text.len() - 1), Some(0));
        assert_eq!(opening_brace(text, text.find("}, \"b").unwrap()), Some(6));
    }

    #[test]
    fn missing_fields_point_at_the_first_key_of_their_mapping() {
        let text = "operations:\n  - create_table:\n      columns:\n        - name: id\n          # note\n          nullable: true\n          unique: true\n";
        // serde-saphyr says 7:11 (`unique`); the column's mapping starts at `name`.
        assert_eq!(mapping_start(text, (7, 11)), (4, 11));
        assert_eq!(mapping_start(text, (3, 7)), (3, 7));
        let text = "columns:\n- name: id\n  type: int\n";
        assert_eq!(mapping_start(text, (3, 3)), (2, 3));
        let text = "a: {b: 1, c: 2}\n";
        assert_eq!(mapping_start(text, (1, 11)), (1, 11));
    }

    #[test]
    fn keys_are_found_when_no_location_is_given() {
        let text = "operations:\n  - create_table:\n      name: colour\n      \"colour\": red\n";
        assert_eq!(find_key(text, "colour"), Some((4, 7)));
        assert_eq!(find_key("{a: 1, colour: 2}", "colour"), Some((1, 8)));
        assert_eq!(find_key("x: colourful\n", "colour"), None);
        let unknown = YamlError::SerdeUnknownField {
            field: "colour".into(),
            expected: vec!["name"],
            location: serde_saphyr::Location::UNKNOWN,
        };
        assert_eq!(fallback_location(text, &unknown), (4, 7));
        let err = yaml_error(text, &unknown);
        assert_eq!((err.line, err.column), (4, 7));
        assert!(err.message.starts_with("unknown field `colour`"), "{err}");
    }
}
