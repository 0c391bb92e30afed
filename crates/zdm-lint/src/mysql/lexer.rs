//! A hand-written MySQL/MariaDB tokenizer and statement splitter.
//!
//! Why not sqlparser: its MySQL dialect misses parts of the DDL this linter needs
//! (ALGORITHM/LOCK clauses, MariaDB's ALTER ONLINE, DELIMITER scripts, versioned comments),
//! and a linter must not stop at the first statement it cannot parse. Splitting and tokens
//! are exact; the statement shapes are then recognised from tokens (`super::parse`).
//!
//! Handles: `DELIMITER` lines (as the mysql client does), backtick identifiers (doubled
//! backticks), '…' and "…" strings (backslash escapes and doubled quotes), `#` and `-- `
//! comments (`--` needs a following space or control character), `/* … */` comments, and
//! executable comments `/*! … */` / `/*!80013 … */`, whose content is code.

use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokKind {
    /// Keyword or unquoted identifier.
    Word,
    /// `quoted` identifier.
    Quoted,
    Str,
    Number,
    Punct,
}

#[derive(Debug, Clone)]
pub(crate) struct Tok {
    pub kind: TokKind,
    /// Byte range in the file.
    pub range: Range<usize>,
    /// Words upper-cased; identifiers unquoted; strings unquoted and unescaped.
    pub text: String,
    /// The text as written.
    pub raw: String,
}

impl Tok {
    pub fn is(&self, word: &str) -> bool {
        self.kind == TokKind::Word && self.text == word
    }

    pub fn is_punct(&self, p: &str) -> bool {
        self.kind == TokKind::Punct && self.text == p
    }

    /// The token as an identifier (words keep their case: MySQL table names may be
    /// case-sensitive).
    pub fn ident(&self) -> String {
        match self.kind {
            TokKind::Word => self.raw.clone(),
            _ => self.text.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct RawStmt {
    pub range: Range<usize>,
    pub toks: Vec<Tok>,
}

pub(crate) struct Lexed {
    pub stmts: Vec<RawStmt>,
    pub comments: Vec<Range<usize>>,
}

fn starts_with_ci(hay: &[u8], at: usize, needle: &str) -> bool {
    hay.len() >= at + needle.len()
        && hay[at..at + needle.len()].eq_ignore_ascii_case(needle.as_bytes())
}

/// Splits `text` into statements and tokens.
pub(crate) fn lex(text: &str) -> Lexed {
    let b = text.as_bytes();
    let mut i = 0;
    let mut delimiter = ";".to_string();
    let mut stmts = Vec::new();
    let mut comments = Vec::new();
    let mut cur: Vec<Tok> = Vec::new();
    let mut exec_comment = false;
    let mut at_line_start = true;
    let flush = |cur: &mut Vec<Tok>, stmts: &mut Vec<RawStmt>| {
        if let (Some(first), Some(last)) = (cur.first(), cur.last()) {
            let range = first.range.start..last.range.end;
            stmts.push(RawStmt {
                range,
                toks: std::mem::take(cur),
            });
        }
    };
    while i < b.len() {
        let c = b[i];
        // DELIMITER is a client command: only at the start of a line, outside statements.
        if at_line_start
            && cur.is_empty()
            && starts_with_ci(b, i, "delimiter")
            && b.get(i + 9).is_some_and(|c| *c == b' ' || *c == b'\t')
        {
            let end = text[i..].find('\n').map(|e| i + e).unwrap_or(b.len());
            let d = text[i + 9..end].trim();
            if !d.is_empty() {
                delimiter = d.to_string();
            }
            i = end;
            continue;
        }
        if c == b'\n' {
            at_line_start = true;
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        at_line_start = false;
        if text[i..].starts_with(delimiter.as_str()) {
            flush(&mut cur, &mut stmts);
            i += delimiter.len();
            continue;
        }
        let start = i;
        // Comments.
        if c == b'#'
            || (c == b'-'
                && b.get(i + 1) == Some(&b'-')
                && b.get(i + 2)
                    .is_none_or(|n| n.is_ascii_whitespace() || n.is_ascii_control()))
        {
            let end = text[i..].find('\n').map(|e| i + e).unwrap_or(b.len());
            comments.push(start..end);
            i = end;
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            if b.get(i + 2) == Some(&b'!') {
                // Executable comment: skip the marker and optional version, lex the content.
                i += 3;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                exec_comment = true;
                continue;
            }
            let end = text[i + 2..]
                .find("*/")
                .map(|e| i + 2 + e + 2)
                .unwrap_or(b.len());
            comments.push(start..end);
            i = end;
            continue;
        }
        if exec_comment && c == b'*' && b.get(i + 1) == Some(&b'/') {
            exec_comment = false;
            i += 2;
            continue;
        }
        // Quoted things.
        if c == b'`' || c == b'\'' || c == b'"' {
            let q = c;
            let mut j = i + 1;
            let mut val = Vec::new();
            while j < b.len() {
                if b[j] == b'\\' && q != b'`' && j + 1 < b.len() {
                    val.push(match b[j + 1] {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'0' => 0,
                        o => o,
                    });
                    j += 2;
                } else if b[j] == q {
                    if b.get(j + 1) == Some(&q) {
                        val.push(q);
                        j += 2;
                    } else {
                        j += 1;
                        break;
                    }
                } else {
                    val.push(b[j]);
                    j += 1;
                }
            }
            let kind = if q == b'`' {
                TokKind::Quoted
            } else {
                TokKind::Str
            };
            cur.push(Tok {
                kind,
                range: start..j,
                text: String::from_utf8_lossy(&val).into_owned(),
                raw: text[start..j].to_string(),
            });
            i = j;
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'.') {
                j += 1;
            }
            // `1e10`, `0x1F` and identifiers starting with digits all stay one token.
            let raw = &text[i..j];
            let kind = if raw.chars().all(|c| c.is_ascii_digit() || c == '.') {
                TokKind::Number
            } else {
                TokKind::Word
            };
            cur.push(Tok {
                kind,
                range: i..j,
                text: if kind == TokKind::Word {
                    raw.to_uppercase()
                } else {
                    raw.to_string()
                },
                raw: raw.to_string(),
            });
            i = j;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c == b'@' || c >= 0x80 {
            let mut j = i;
            while j < b.len()
                && (b[j].is_ascii_alphanumeric()
                    || b[j] == b'_'
                    || b[j] == b'$'
                    || b[j] == b'@'
                    || b[j] >= 0x80)
            {
                j += 1;
            }
            let raw = &text[i..j];
            cur.push(Tok {
                kind: TokKind::Word,
                range: i..j,
                text: raw.to_uppercase(),
                raw: raw.to_string(),
            });
            i = j;
            continue;
        }
        // Punctuation; keep multi-char operators that matter together.
        let len = if text[i..].starts_with(":=")
            || text[i..].starts_with("<=")
            || text[i..].starts_with(">=")
            || text[i..].starts_with("<>")
            || text[i..].starts_with("!=")
        {
            2
        } else {
            text[i..].chars().next().map(char::len_utf8).unwrap_or(1)
        };
        cur.push(Tok {
            kind: TokKind::Punct,
            range: i..i + len,
            text: text[i..i + len].to_string(),
            raw: text[i..i + len].to_string(),
        });
        i += len;
    }
    flush(&mut cur, &mut stmts);
    Lexed { stmts, comments }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_scripts_and_comments() {
        let text = "# c1\nDELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT ';'; END //\nDELIMITER ;\n-- c2\nALTER TABLE `a``b` ADD COLUMN x INT /* x; */; SELECT 'it''s;' ;\n/*!80013 SELECT 2 */;";
        let l = lex(text);
        assert_eq!(
            l.stmts.len(),
            4,
            "{:?}",
            l.stmts
                .iter()
                .map(|s| &text[s.range.clone()])
                .collect::<Vec<_>>()
        );
        assert!(l.stmts[0].toks.iter().any(|t| t.is("PROCEDURE")));
        assert_eq!(l.stmts[1].toks[2].text, "a`b");
        assert_eq!(l.stmts[2].toks[1].text, "it's;");
        assert!(l.stmts[3].toks[0].is("SELECT"));
        assert_eq!(l.comments.len(), 3);
    }
}
