//! Statement boundaries for callers that run SQL themselves (`zdm lint --trace`): the same
//! splitting the linter uses, so a traced statement and its findings share a byte range.

use crate::Dialect;
use std::ops::Range;

/// Byte ranges of the statements of `text` (without delimiters; MySQL `DELIMITER` lines are
/// client commands and not statements).
pub fn statement_ranges(text: &str, dialect: Dialect) -> Vec<Range<usize>> {
    match dialect {
        Dialect::Mysql => crate::mysql::lexer::lex(text)
            .stmts
            .into_iter()
            .map(|s| s.range)
            .collect(),
        Dialect::Postgres => zdm_core::sql::split_statements(text)
            .into_iter()
            .map(|s| s.offset..s.offset + s.text.len())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_scripts_split_like_the_client() {
        let text = "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END //\nDELIMITER ;\nALTER TABLE t ADD COLUMN c int;";
        let r = statement_ranges(text, Dialect::Mysql);
        let parts: Vec<&str> = r.iter().map(|r| text[r.clone()].trim()).collect();
        assert_eq!(
            parts,
            [
                "CREATE PROCEDURE p() BEGIN SELECT 1; END",
                "ALTER TABLE t ADD COLUMN c int"
            ]
        );
    }
}
