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

/// Reported by `zdm lint --trace` (the CLI), not by the static linter: its examples are
/// exercised by the CLI's trace tests against real servers.
pub(crate) static TRACE_DISAGREEMENT: RuleInfo = RuleInfo {
    id: "lint-trace-disagreement",
    engine: Engine::Any,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "the server, running the migration on a scratch database, did something the static verdict did not predict",
    why: "With --trace, every statement runs on a scratch copy of the schema and its real locks \
          (pg_locks), rewrites (relfilenode), MySQL algorithm and rebuilds are recorded. When a \
          statement rewrote a pre-existing table, held a write-blocking lock for its whole run, or \
          ran as a table copy with no rule flagging it, or when a rule predicted a rewrite or copy \
          that the server did not do, the two disagree: either the statement needs a second look \
          or the linter is wrong for this server version.",
    versions: "The trace reflects the server --database-url points at; pass the matching --pg-version or --mysql-version.",
    bad: "-- (with rewrite rules disabled) a type change the server executes as a rewrite\nALTER TABLE orders ALTER COLUMN qty TYPE bigint;",
    good: "ALTER TABLE orders ALTER COLUMN note TYPE varchar(200);",
    example_env: "",
};

pub(crate) static RULES: &[&RuleInfo] = &[
    &IGNORE_WITHOUT_REASON,
    &UNUSED_IGNORE,
    &SYNTAX_ERROR,
    &TRACE_DISAGREEMENT,
];
