//! Token-aware substitution of columns inside a SQL expression (check constraints, index
//! definitions, `up`/`down` SQL): bare or double-quoted identifiers equal to a column's name are
//! replaced, while string literals and qualified names (`t.col`, `col.field`) are left alone.
//! Malformed input (an unterminated quote) is copied through unchanged, never a panic.

use crate::ident::quote_ident;

pub fn rename_column_in_expr(expr: &str, from: &str, to: &str) -> String {
    replace_columns_in_expr(expr, &[(from.to_string(), quote_ident(to))])
}

/// Replace every reference to a column named in `with` (name → SQL put in its place) in one
/// pass, so swapped names (`a` → `b`, `b` → `a`) do not chain.
pub fn replace_columns_in_expr(expr: &str, with: &[(String, String)]) -> String {
    let b = expr.as_bytes();
    let mut out = String::with_capacity(expr.len() + 16);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\'' {
            let (end, _) = skip(b, i, b'\'');
            out.push_str(&expr[i..end]);
            i = end;
        } else if c == b'"' {
            let (end, closed) = skip(b, i, b'"');
            if !closed {
                out.push_str(&expr[i..]);
                break;
            }
            let name = expr[i + 1..end - 1].replace("\"\"", "\"");
            match with.iter().find(|(from, _)| *from == name) {
                Some((_, to)) if !qualified(b, i, end) => out.push_str(to),
                _ => out.push_str(&expr[i..end]),
            }
            i = end;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                i += 1;
            }
            let word = &expr[start..i];
            // An unquoted word folds to lower case, so it names only a lower-case column.
            let found = with.iter().find(|(from, _)| {
                word.eq_ignore_ascii_case(from) && *from == from.to_ascii_lowercase()
            });
            match found {
                Some((_, to)) if !qualified(b, start, i) => out.push_str(to),
                _ => out.push_str(word),
            }
        } else {
            let ch = expr[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The end of the quoted token starting at `start`, and whether its closing quote was found.
fn skip(b: &[u8], start: usize, quote: u8) -> (usize, bool) {
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return (i + 1, true);
        }
        i += 1;
    }
    (b.len(), false)
}

/// Whether the identifier spanning `start..end` is part of a dotted name (`x.col` or `col.x`),
/// or a function name (`col(`).
fn qualified(b: &[u8], start: usize, end: usize) -> bool {
    let before = start > 0 && b[start - 1] == b'.';
    let after = b.get(end) == Some(&b'.');
    let mut j = end;
    while j < b.len() && b[j] == b' ' {
        j += 1;
    }
    before || after || b.get(j) == Some(&b'(')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unterminated_quotes_are_copied_through() {
        assert_eq!(
            rename_column_in_expr("a > 0 AND \"é", "a", "b"),
            "\"b\" > 0 AND \"é"
        );
        assert_eq!(rename_column_in_expr("\"", "a", "b"), "\"");
        assert_eq!(rename_column_in_expr("'x", "a", "b"), "'x");
    }

    #[test]
    fn renames_only_the_column() {
        assert_eq!(
            rename_column_in_expr("length(name) > 3", "name", "_zdm_new_name"),
            "length(\"_zdm_new_name\") > 3"
        );
        assert_eq!(
            rename_column_in_expr("\"name\" <> 'name' AND t.name IS NULL", "name", "n2"),
            "\"n2\" <> 'name' AND t.name IS NULL"
        );
        assert_eq!(
            rename_column_in_expr(
                "CREATE INDEX i ON public.t USING btree (name, id) WHERE (name IS NOT NULL)",
                "name",
                "x"
            ),
            "CREATE INDEX i ON public.t USING btree (\"x\", id) WHERE (\"x\" IS NOT NULL)"
        );
    }

    #[test]
    fn substitutes_all_names_at_once() {
        let with = [
            ("a".to_string(), "\"b\"".to_string()),
            ("b".to_string(), "(a + 1)".to_string()),
        ];
        assert_eq!(
            replace_columns_in_expr("a < b AND 'a' <> \"b\"", &with),
            "\"b\" < (a + 1) AND 'a' <> (a + 1)"
        );
    }
}
