//! sql: raw SQL, run at start (or at complete with `onComplete`), `down` at rollback. Statements
//! PostgreSQL refuses inside a transaction (CONCURRENTLY) run on their own. The new version's
//! views are built from the catalog after the expand, so tables the SQL creates appear in them.
//! Without `down`, zdm undoes the simple `CREATE` statements itself, so a rollback does not leave
//! e.g. a type behind that a second start would trip over.

use crate::operations::RawSql;
use crate::planner::{Mode, PlanContext, PlanOperation, Stage};
use crate::sql::split_statements;

fn steps(text: &str) -> Vec<(String, Mode)> {
    split_statements(text)
        .into_iter()
        .map(|s| {
            let mode = if s.must_run_outside_transaction() {
                Mode::NoTransaction
            } else {
                Mode::Transaction
            };
            (s.text, mode)
        })
        .collect()
}

/// The undo of a simple `CREATE` statement, if it has an obvious one.
pub fn inferred_down(statement: &str) -> Option<String> {
    let words: Vec<&str> = statement
        .split(|c: char| c.is_whitespace() || c == '(')
        .filter(|w| !w.is_empty())
        .collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let at = |i: usize| upper.get(i).map(String::as_str);
    if at(0) != Some("CREATE") {
        return None;
    }
    let mut i = 1;
    if at(i) == Some("UNIQUE") {
        i += 1;
    }
    let kind = match at(i)? {
        "TYPE" => "TYPE",
        "TABLE" => "TABLE",
        "INDEX" => "INDEX",
        "SEQUENCE" => "SEQUENCE",
        "VIEW" => "VIEW",
        "SCHEMA" => "SCHEMA",
        "MATERIALIZED" if at(i + 1) == Some("VIEW") => {
            i += 1;
            "MATERIALIZED VIEW"
        }
        _ => return None,
    };
    i += 1;
    if at(i) == Some("CONCURRENTLY") {
        i += 1;
    }
    if at(i) == Some("IF") {
        i += 3; // IF NOT EXISTS
    }
    let name = words.get(i)?.trim_end_matches(';');
    if name.is_empty() || name.eq_ignore_ascii_case("ON") {
        return None;
    }
    Some(format!("DROP {kind} IF EXISTS {name}"))
}

impl PlanOperation for RawSql {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        let lock = "as the SQL takes (raw SQL: check it with `zdm lint`)";
        for (sql, mode) in steps(&self.up) {
            if self.on_complete {
                let stage = if mode == Mode::NoTransaction {
                    Stage::ContractConcurrently
                } else {
                    Stage::Contract
                };
                ctx.complete(stage, mode, sql, lock);
            } else {
                let stage = if mode == Mode::NoTransaction {
                    Stage::ExpandConcurrently
                } else {
                    Stage::Expand
                };
                ctx.start(stage, mode, sql, lock);
            }
        }
        if self.on_complete {
            return Ok(());
        }
        let down: Vec<(String, Mode)> = match self.down.as_deref().filter(|d| !d.trim().is_empty())
        {
            Some(down) => steps(down),
            None => steps(&self.up)
                .iter()
                .rev()
                .filter_map(|(s, _)| inferred_down(s))
                .map(|s| (s, Mode::Transaction))
                .collect(),
        };
        // Rollback steps run in reverse order of planning, so plan them last-first.
        for (sql, mode) in down.into_iter().rev() {
            let stage = if mode == Mode::NoTransaction {
                Stage::UndoConcurrently
            } else {
                Stage::Undo
            };
            ctx.rollback(stage, mode, sql, lock);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::inferred_down;

    #[test]
    fn infers_the_undo_of_simple_creates() {
        assert_eq!(
            inferred_down("CREATE TYPE fruit_size AS ENUM ('small')").as_deref(),
            Some("DROP TYPE IF EXISTS fruit_size")
        );
        assert_eq!(
            inferred_down("create table if not exists \"T\"(id int)").as_deref(),
            Some("DROP TABLE IF EXISTS \"T\"")
        );
        assert_eq!(
            inferred_down("CREATE UNIQUE INDEX CONCURRENTLY i ON t (a)").as_deref(),
            Some("DROP INDEX IF EXISTS i")
        );
        assert_eq!(inferred_down("ALTER TABLE t ADD COLUMN c int"), None);
    }
}
