//! sql: raw SQL, run at start (or at complete with `onComplete`), `down` at rollback. Statements
//! PostgreSQL refuses inside a transaction (CONCURRENTLY) run on their own. The new version's
//! views are built from the catalog after the expand, so tables the SQL creates appear in them.
//! Without `down`, zdm undoes the simple `CREATE` statements itself, so a rollback does not leave
//! e.g. a type behind that a second start would trip over.

use crate::ident::unquote_parts;
use crate::operations::RawSql;
use crate::planner::{Lock, LockMode};
use crate::planner::{Mode, PlanContext, PlanOperation, Stage};
use crate::sql::{head_words, split_statements};

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

/// The undo of a simple `CREATE` statement, when the migration provably creates the object:
/// a plain `CREATE` fails if the object exists, so after it succeeded the object is the
/// migration's; `CREATE … IF NOT EXISTS` only counts for a table `exists` says was absent
/// before (anything else may have existed: its undo would drop someone's data).
pub fn inferred_down(
    statement: &str,
    exists: &dyn Fn(&[String]) -> Option<bool>,
) -> Option<String> {
    let words = head_words(statement);
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
    let if_not_exists = at(i) == Some("IF");
    if if_not_exists {
        i += 3; // IF NOT EXISTS
    }
    let name = words.get(i)?;
    if name.is_empty() || name.eq_ignore_ascii_case("ON") {
        return None;
    }
    if if_not_exists && !(kind == "TABLE" && exists(&unquote_parts(name)) == Some(false)) {
        return None;
    }
    Some(format!("DROP {kind} IF EXISTS {name}"))
}

impl PlanOperation for RawSql {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        let lock = Lock::new(LockMode::AsTheSqlTakes, "raw SQL: check it with `zdm lint`");
        for (sql, mode) in steps(&self.up) {
            if self.on_complete {
                let stage = if mode == Mode::NoTransaction {
                    Stage::ContractConcurrently
                } else {
                    Stage::Contract
                };
                ctx.complete(stage, mode, sql, lock.clone());
            } else {
                let stage = if mode == Mode::NoTransaction {
                    Stage::ExpandConcurrently
                } else {
                    Stage::Expand
                };
                ctx.start(stage, mode, sql, lock.clone());
            }
        }
        if self.on_complete {
            ctx.refresh_views_at_complete = true;
            return Ok(());
        }
        let down: Vec<(String, Mode)> = match self.down.as_deref().filter(|d| !d.trim().is_empty())
        {
            Some(down) => steps(down),
            None => {
                // Only tables of the target schema are known to the planner.
                let target = ctx.target.schema.clone();
                let exists = |parts: &[String]| -> Option<bool> {
                    match parts {
                        [t] => Some(ctx.old.table(t).is_some()),
                        [s, t] if *s == target => Some(ctx.old.table(t).is_some()),
                        _ => None,
                    }
                };
                steps(&self.up)
                    .iter()
                    .rev()
                    .filter_map(|(s, _)| inferred_down(s, &exists))
                    .map(|s| (s, Mode::Transaction))
                    .collect()
            }
        };
        // Rollback steps run in reverse order of planning, so plan them last-first.
        for (sql, mode) in down.into_iter().rev() {
            let stage = if mode == Mode::NoTransaction {
                Stage::UndoConcurrently
            } else {
                Stage::Undo
            };
            ctx.rollback(stage, mode, sql, lock.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::inferred_down;

    fn absent(_: &[String]) -> Option<bool> {
        Some(false)
    }

    #[test]
    fn infers_the_undo_of_simple_creates() {
        assert_eq!(
            inferred_down("CREATE TYPE fruit_size AS ENUM ('small')", &absent).as_deref(),
            Some("DROP TYPE IF EXISTS fruit_size")
        );
        assert_eq!(
            inferred_down("create table if not exists \"My T\"(id int)", &absent).as_deref(),
            Some("DROP TABLE IF EXISTS \"My T\"")
        );
        assert_eq!(
            inferred_down("CREATE UNIQUE INDEX CONCURRENTLY i ON t (a)", &absent).as_deref(),
            Some("DROP INDEX IF EXISTS i")
        );
        assert_eq!(
            inferred_down("ALTER TABLE t ADD COLUMN c int", &absent),
            None
        );
    }

    #[test]
    fn never_undoes_what_existed_before() {
        let existed = |parts: &[String]| Some(parts.last().map(String::as_str) == Some("My T"));
        assert_eq!(
            inferred_down("CREATE TABLE IF NOT EXISTS \"My T\" (id int)", &existed),
            None
        );
        // Other kinds with IF NOT EXISTS cannot be checked: no undo is inferred.
        assert_eq!(
            inferred_down("CREATE INDEX IF NOT EXISTS i ON t (a)", &absent),
            None
        );
        assert_eq!(
            inferred_down("CREATE TABLE IF NOT EXISTS other.t (id int)", &|_| None),
            None
        );
    }
}
