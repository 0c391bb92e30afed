//! Rules about the linter's own input: ignore comments and unparsable SQL.

use super::{Engine, RuleInfo};
use crate::finding::Severity;

pub(crate) static IGNORE_WITHOUT_REASON: RuleInfo = RuleInfo {
    id: "lint-ignore-without-reason",
    engine: Engine::Any,
    severity: Severity::Error,
    default_enabled: true,
    summary: "a `zdm-lint: ignore` comment without `-- <reason>`",
    why: "An ignore silences a safety check; reviewers need to know why it is safe here. The \
          ignore still applies, but the missing reason fails the lint.",
    versions: "",
    bad: "-- zdm-lint: ignore pg-index-create-not-concurrent\nCREATE INDEX orders_user_idx ON orders (user_id);",
    good: "-- zdm-lint: ignore pg-index-create-not-concurrent -- orders has 40 rows, created last release\nCREATE INDEX orders_user_idx ON orders (user_id);",
    example_env: "",
};

pub(crate) static UNUSED_IGNORE: RuleInfo = RuleInfo {
    id: "lint-unused-ignore",
    engine: Engine::Any,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "an ignore comment that silences nothing",
    why: "A stale ignore hides a future, real finding of the same rule on that statement.",
    versions: "",
    bad: "-- zdm-lint: ignore pg-index-create-not-concurrent -- small table\nCREATE INDEX CONCURRENTLY orders_user_idx ON orders (user_id);",
    good: "CREATE INDEX CONCURRENTLY orders_user_idx ON orders (user_id);",
    example_env: "no-transaction",
};

pub(crate) static SYNTAX_ERROR: RuleInfo = RuleInfo {
    id: "lint-syntax-error",
    engine: Engine::Any,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "SQL the linter could not parse",
    why: "Statements that do not parse cannot be checked; hazards in them go unreported.",
    versions: "",
    bad: "ALTER TABLE orders ADD COLUMN;",
    good: "ALTER TABLE orders ADD COLUMN note text;",
    example_env: "",
};

pub(crate) static RULES: &[&RuleInfo] = &[&IGNORE_WITHOUT_REASON, &UNUSED_IGNORE, &SYNTAX_ERROR];
