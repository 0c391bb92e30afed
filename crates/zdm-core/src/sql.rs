//! Splitting PostgreSQL SQL text into statements, and classifying statements by how they must be
//! run. The splitter understands comments (nested `/* */`), quoted strings (`'…'`, `E'…'`),
//! quoted identifiers, dollar quoting (`$$…$$`, `$tag$…$tag$`) and SQL-standard function bodies
//! (`BEGIN ATOMIC … END`), so PL/pgSQL and `DO` blocks stay whole.

/// One statement of a SQL file, with where it starts (1-based) so errors can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement text, from its first significant character, without the closing `;`.
    pub text: String,
    /// Byte offset of `text` in the file.
    pub offset: usize,
    pub line: usize,
    pub column: usize,
}

impl Statement {
    /// The first words of the statement, upper-cased, comments skipped.
    pub fn keywords(&self, n: usize) -> Vec<String> {
        leading_keywords(&self.text, n)
    }

    /// Whether PostgreSQL refuses to run this statement inside a transaction block.
    pub fn must_run_outside_transaction(&self) -> bool {
        let words = self.keywords(8);
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        let concurrently = w.contains(&"CONCURRENTLY");
        match w.as_slice() {
            ["CREATE", ..] | ["DROP", "INDEX", ..] | ["REINDEX", ..] if concurrently => true,
            ["ALTER", "TABLE", ..] if concurrently && w.contains(&"DETACH") => true,
            ["VACUUM", ..] | ["ALTER", "SYSTEM", ..] => true,
            ["CREATE", "DATABASE", ..] | ["DROP", "DATABASE", ..] => true,
            ["CREATE", "TABLESPACE", ..] | ["DROP", "TABLESPACE", ..] => true,
            _ => false,
        }
    }

    /// Whether this statement opens or ends a transaction itself (zdm manages transactions).
    pub fn is_transaction_control(&self) -> bool {
        let words = self.keywords(2);
        matches!(
            words.first().map(String::as_str),
            Some("BEGIN" | "COMMIT" | "ROLLBACK" | "END" | "SAVEPOINT" | "RELEASE" | "ABORT")
        ) || (words.first().map(String::as_str) == Some("START")
            && words.get(1).map(String::as_str) == Some("TRANSACTION"))
    }
}

/// Convert a byte offset in `text` to a 1-based (line, column); the column counts characters.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

fn leading_keywords(text: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() && out.len() < n {
        let c = bytes[i];
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push(text[start..i].to_ascii_uppercase());
        } else if c == b'-' && bytes.get(i + 1) == Some(&b'-') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && bytes.get(i + 1) == Some(&b'*') {
            i = skip_block_comment(bytes, i);
        } else if c == b'\'' || c == b'"' {
            i = skip_quoted(bytes, i, c, false);
        } else if c == b'$' {
            i = skip_dollar_quoted(text, i).unwrap_or(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// Split SQL text into statements. Empty statements (only whitespace and comments) are dropped.
pub fn split_statements(text: &str) -> Vec<Statement> {
    let bytes = text.as_bytes();
    let mut statements = Vec::new();
    let mut i = 0;
    let mut start: Option<usize> = None;
    // Inside `BEGIN ATOMIC … END` semicolons do not end the statement; CASE … END nests in it.
    let mut atomic_depth = 0usize;
    let mut prev_word = String::new();

    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i);
                continue;
            }
            b';' if atomic_depth == 0 => {
                if let Some(s) = start.take() {
                    push_statement(text, s, i, &mut statements);
                }
                prev_word.clear();
                i += 1;
                continue;
            }
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            _ => {}
        }
        start.get_or_insert(i);
        if c == b'\'' {
            let escape =
                i > 0 && matches!(bytes[i - 1], b'E' | b'e') && !is_word_byte(bytes, i - 1);
            i = skip_quoted(bytes, i, b'\'', escape);
        } else if c == b'"' {
            i = skip_quoted(bytes, i, b'"', false);
        } else if c == b'$' {
            i = skip_dollar_quoted(text, i).unwrap_or(i + 1);
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let w_start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$')
            {
                i += 1;
            }
            let word = text[w_start..i].to_ascii_uppercase();
            let opens =
                (word == "ATOMIC" && prev_word == "BEGIN") || (atomic_depth > 0 && word == "CASE");
            if opens {
                atomic_depth += 1;
            } else if atomic_depth > 0 && word == "END" {
                atomic_depth -= 1;
            }
            prev_word = word;
        } else {
            i += c.len_utf8_hint();
        }
    }
    if let Some(s) = start {
        push_statement(text, s, text.len(), &mut statements);
    }
    fill_positions(text, &mut statements);
    statements
}

/// True when the byte before `i`'s letter is itself part of a word (so `E` is not a prefix).
fn is_word_byte(bytes: &[u8], letter: usize) -> bool {
    letter > 0 && (bytes[letter - 1].is_ascii_alphanumeric() || bytes[letter - 1] == b'_')
}

trait Utf8Len {
    fn len_utf8_hint(self) -> usize;
}

impl Utf8Len for u8 {
    /// Length of the UTF-8 sequence this lead byte starts (1 for continuation bytes).
    fn len_utf8_hint(self) -> usize {
        match self {
            0xF0..=0xFF => 4,
            0xE0..=0xEF => 3,
            0xC0..=0xDF => 2,
            _ => 1,
        }
    }
}

fn push_statement(text: &str, start: usize, end: usize, out: &mut Vec<Statement>) {
    let body = text[start..end].trim_end();
    if body.is_empty() {
        return;
    }
    // Positions are filled in by `fill_positions`, in one pass over the whole text.
    out.push(Statement {
        text: body.to_string(),
        offset: start,
        line: 0,
        column: 0,
    });
}

/// Set each statement's 1-based line and column, scanning the text once (statements are in
/// offset order), so splitting stays linear on files of many thousands of statements.
fn fill_positions(text: &str, statements: &mut [Statement]) {
    let (mut pos, mut line, mut line_start) = (0usize, 1usize, 0usize);
    for st in statements {
        let target = st.offset.min(text.len());
        for (i, b) in text.as_bytes()[pos..target].iter().enumerate() {
            if *b == b'\n' {
                line += 1;
                line_start = pos + i + 1;
            }
        }
        pos = target;
        st.line = line;
        st.column = text[line_start..target].chars().count() + 1;
    }
}

fn skip_block_comment(bytes: &[u8], mut i: usize) -> usize {
    let mut depth = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// Skip a quoted string or identifier starting at `i`; a doubled quote is an escaped quote, and in
/// `E''` strings a backslash escapes the next byte.
fn skip_quoted(bytes: &[u8], mut i: usize, quote: u8, backslash_escapes: bool) -> usize {
    i += 1;
    while i < bytes.len() {
        if backslash_escapes && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    i
}

/// Skip `$tag$ … $tag$` starting at `i`. Returns None when `$` does not open a dollar quote
/// (e.g. a `$1` parameter).
fn skip_dollar_quoted(text: &str, i: usize) -> Option<usize> {
    let rest = &text[i + 1..];
    let tag_len = rest.find('$')?;
    let tag = &rest[..tag_len];
    let valid_tag = tag
        .chars()
        .enumerate()
        .all(|(k, c)| c == '_' || c.is_alphabetic() || (k > 0 && c.is_ascii_digit()));
    if !valid_tag {
        return None;
    }
    let delimiter = &text[i..i + tag_len + 2];
    let body_start = i + tag_len + 2;
    match text[body_start..].find(delimiter) {
        Some(end) => Some(body_start + end + delimiter.len()),
        None => Some(text.len()),
    }
}

/// Words of a statement head; a double-quoted identifier (spaces, dots inside) stays one word,
/// and a dotted name (`s."T"`) is one word.
pub fn head_words(statement: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = statement.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                cur.push('"');
                while let Some(n) = chars.next() {
                    cur.push(n);
                    if n == '"' {
                        if chars.peek() == Some(&'"') {
                            cur.push(chars.next().unwrap());
                            continue;
                        }
                        break;
                    }
                }
            }
            '(' | ';' => break,
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<String> {
        split_statements(sql).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_simple_statements_with_positions() {
        let s =
            split_statements("CREATE TABLE a (id int);\n  -- note\n  INSERT INTO a VALUES (1);\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].text, "INSERT INTO a VALUES (1)");
        assert_eq!((s[1].line, s[1].column), (3, 3));
    }

    #[test]
    fn keeps_dollar_quoted_bodies_whole() {
        let sql = "CREATE FUNCTION f() RETURNS trigger AS $fn$ BEGIN NEW.x := 1; RETURN NEW; END $fn$ LANGUAGE plpgsql;\nDO $$ BEGIN PERFORM 1; END $$;";
        let t = texts(sql);
        assert_eq!(t.len(), 2);
        assert!(t[0].ends_with("LANGUAGE plpgsql"));
        assert!(t[1].starts_with("DO $$"));
    }

    #[test]
    fn ignores_semicolons_in_strings_comments_and_identifiers() {
        let sql =
            "SELECT 'a;b', E'it\\'s;', \"we;ird\" /* c; /* nested; */ */ FROM t; -- x;y\nSELECT 2";
        assert_eq!(texts(sql).len(), 2);
    }

    #[test]
    fn keeps_begin_atomic_bodies_whole() {
        let sql = "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END; SELECT 2; END; SELECT 3;";
        assert_eq!(texts(sql).len(), 2);
    }

    #[test]
    fn parameters_are_not_dollar_quotes() {
        assert_eq!(texts("PREPARE p AS SELECT $1; SELECT 1").len(), 2);
    }

    #[test]
    fn classifies_non_transactional_statements() {
        let s = split_statements(
            "CREATE INDEX CONCURRENTLY i ON t (a); CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS j ON t (b); CREATE INDEX k ON t (c); DROP INDEX CONCURRENTLY i; VACUUM t; BEGIN; START TRANSACTION",
        );
        let flags: Vec<bool> = s
            .iter()
            .map(Statement::must_run_outside_transaction)
            .collect();
        assert_eq!(flags, [true, true, false, true, true, false, false]);
        assert!(s[5].is_transaction_control() && s[6].is_transaction_control());
        assert!(!s[0].is_transaction_control());
    }
}
