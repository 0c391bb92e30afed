//! Small helpers over squawk-syntax's rowan tree: child lookup by kind, significant tokens,
//! identifier normalisation. The linter reads node kinds and tokens rather than the full typed
//! AST so that each rule needs only a few facts per statement.

use crate::schema::{QName, TypeName};
use squawk_syntax::{SyntaxKind, SyntaxNode, SyntaxToken};
use std::ops::Range;

pub(crate) fn range(node: &SyntaxNode) -> Range<usize> {
    let r = node.text_range();
    usize::from(r.start())..usize::from(r.end())
}

pub(crate) fn child(node: &SyntaxNode, kind: SyntaxKind) -> Option<SyntaxNode> {
    node.children().find(|c| c.kind() == kind)
}

pub(crate) fn children(node: &SyntaxNode, kind: SyntaxKind) -> impl Iterator<Item = SyntaxNode> {
    node.children().filter(move |c| c.kind() == kind)
}

pub(crate) fn descendant(node: &SyntaxNode, kind: SyntaxKind) -> Option<SyntaxNode> {
    node.descendants().find(|c| c.kind() == kind)
}

/// Significant tokens (no whitespace or comments) anywhere under `node`.
pub(crate) fn tokens(node: &SyntaxNode) -> Vec<SyntaxToken> {
    node.descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .filter(|t| !t.kind().is_trivia())
        .collect()
}

/// Whether a direct child token of `node` is the keyword `word` (case-insensitive).
pub(crate) fn has_kw(node: &SyntaxNode, word: &str) -> bool {
    node.children_with_tokens()
        .filter_map(|e| e.into_token())
        .any(|t| t.text().eq_ignore_ascii_case(word))
}

/// Whether any token under `node` is the keyword `word`.
pub(crate) fn has_kw_deep(node: &SyntaxNode, word: &str) -> bool {
    tokens(node)
        .iter()
        .any(|t| t.text().eq_ignore_ascii_case(word))
}

/// An identifier as PostgreSQL stores it: quoted ones unquoted, others lower-cased.
pub(crate) fn ident(text: &str) -> String {
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        inner.replace("\"\"", "\"")
    } else if let Some(inner) = text
        .strip_prefix("U&\"")
        .or_else(|| text.strip_prefix("u&\""))
        .and_then(|t| t.strip_suffix('"'))
    {
        inner.to_string()
    } else {
        text.to_lowercase()
    }
}

fn is_name_token(t: &SyntaxToken) -> bool {
    let k = t.kind();
    !matches!(
        k,
        SyntaxKind::DOT
            | SyntaxKind::STAR
            | SyntaxKind::L_PAREN
            | SyntaxKind::R_PAREN
            | SyntaxKind::COMMA
    ) && !t.text().eq_ignore_ascii_case("only")
        && t.text()
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '"' || c == 'U' || c == 'u')
}

/// A (possibly qualified) name from a name node such as TABLE_RELATION_NAME or PATH.
pub(crate) fn qname(node: &SyntaxNode) -> QName {
    let parts: Vec<String> = tokens(node)
        .iter()
        .filter(|t| is_name_token(t))
        .map(|t| ident(t.text()))
        .collect();
    match parts.as_slice() {
        [] => QName::bare(""),
        [n] => QName::bare(n),
        [.., s, n] => QName::new(Some(s), n),
    }
}

/// The name in a single-identifier node (COLUMN_NAME, CONSTRAINT_NAME, …).
pub(crate) fn name_of(node: &SyntaxNode) -> String {
    qname(node).name
}

/// The first node under `node` of one of `kinds`, as a name.
pub(crate) fn find_name(node: &SyntaxNode, kinds: &[SyntaxKind]) -> Option<String> {
    node.descendants()
        .find(|c| kinds.contains(&c.kind()))
        .map(|n| name_of(&n))
}

/// Column names of a column list node (`(a, b)`), in order.
pub(crate) fn column_list(node: &SyntaxNode) -> Vec<String> {
    node.descendants()
        .filter(|c| {
            matches!(
                c.kind(),
                SyntaxKind::COLUMN_NAME_REF | SyntaxKind::COLUMN_NAME
            )
        })
        .map(|c| name_of(&c))
        .collect()
}

pub(crate) fn is_type_node(kind: SyntaxKind) -> bool {
    matches!(
        kind,
        SyntaxKind::ARRAY_TYPE
            | SyntaxKind::PATH_TYPE
            | SyntaxKind::VARCHAR_TYPE
            | SyntaxKind::CHARACTER_TYPE
            | SyntaxKind::BIT_TYPE
            | SyntaxKind::BIT_VARYING_TYPE
            | SyntaxKind::DOUBLE_TYPE
            | SyntaxKind::TIME_TYPE
            | SyntaxKind::TIMESTAMP_TYPE
            | SyntaxKind::INTERVAL_TYPE
            | SyntaxKind::PERCENT_TYPE
    )
}

/// The type written in type node `node`.
pub(crate) fn type_name(node: &SyntaxNode) -> TypeName {
    let mut words = Vec::new();
    let mut args = Vec::new();
    let mut array = false;
    let mut depth = 0usize;
    let mut prev_dot = false;
    for t in tokens(node) {
        match t.kind() {
            SyntaxKind::L_PAREN => depth += 1,
            SyntaxKind::R_PAREN => depth = depth.saturating_sub(1),
            SyntaxKind::L_BRACK => array = true,
            SyntaxKind::DOT => prev_dot = true,
            SyntaxKind::INT_NUMBER if depth > 0 => {
                if let Ok(n) = t.text().parse() {
                    args.push(n);
                }
            }
            _ if depth == 0 && t.text().eq_ignore_ascii_case("array") => array = true,
            _ if depth == 0
                && !t
                    .text()
                    .starts_with(|c: char| c.is_alphabetic() || c == '_' || c == '"') => {}
            _ if depth == 0 => {
                let w = ident(t.text());
                if prev_dot {
                    if let Some(last) = words.last_mut() {
                        *last = format!("{last}.{w}");
                    }
                    prev_dot = false;
                } else {
                    words.push(w);
                }
            }
            _ => {}
        }
    }
    TypeName::from_words(&words, args, array, &node.text().to_string())
}

/// The first type node directly under `node`.
pub(crate) fn child_type(node: &SyntaxNode) -> Option<TypeName> {
    node.children()
        .find(|c| is_type_node(c.kind()))
        .map(|n| type_name(&n))
}
