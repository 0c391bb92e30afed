//! The rule catalogue. Each rule lives in its own file under `pg/` or `mysql/` with its
//! metadata (`RuleInfo`) next to its check; `lint-*` rules about ignore comments live in
//! `crate::ignore`. The examples in the metadata are the documentation's examples and are
//! tested: `bad` must trigger the rule, `good` must not.

mod docs;
pub(crate) mod meta;
pub(crate) mod mysql;
pub(crate) mod pg;

pub use docs::{rule_doc, rules_index};

use crate::finding::{Reporter, Severity};
use serde::Serialize;
use std::ops::Range;
use std::sync::OnceLock;

/// The engine a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Postgres,
    Mysql,
    /// Rules about the linter itself (ignore comments, syntax errors).
    Any,
}

/// A rule's metadata, for documentation, SARIF and `zdm lint --explain`.
#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo {
    pub id: &'static str,
    pub engine: Engine,
    pub severity: Severity,
    /// Off-by-default rules run only when enabled (`Options::enable`).
    pub default_enabled: bool,
    /// One line: what the rule flags.
    pub summary: &'static str,
    /// Why it is dangerous: the lock taken, the rewrite, what breaks.
    pub why: &'static str,
    /// Version notes ("" when the rule does not depend on the version).
    pub versions: &'static str,
    /// A migration the rule flags.
    pub bad: &'static str,
    /// The safe alternative: a migration the rule does not flag.
    pub good: &'static str,
    /// Options the examples need, e.g. `pg=11`, `no-transaction`, `mysql=5.7.44`; "" = defaults.
    pub example_env: &'static str,
}

/// Every rule, PostgreSQL first, then MySQL/MariaDB, then the linter's own. An id shared by
/// both engines (the `compat-*` family, `identifier-too-long`) appears once per engine.
pub fn rules() -> &'static [RuleInfo] {
    static ALL: OnceLock<Vec<RuleInfo>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut v: Vec<RuleInfo> = pg::RULES.iter().map(|(r, _)| (*r).clone()).collect();
        v.extend(mysql::RULES.iter().map(|(r, _)| (*r).clone()));
        v.push(crate::operations::ALTER_TYPE_WITHOUT_UP_DOWN.clone());
        v.extend(meta::RULES.iter().map(|r| (*r).clone()));
        v
    })
}

/// The metadata of rule `id` for `engine` (or the engine-independent one).
pub fn rule_info(id: &str, engine: Engine) -> Option<&'static RuleInfo> {
    rules()
        .iter()
        .find(|r| r.id == id && (r.engine == engine || r.engine == Engine::Any))
}

/// What compat-drop-other found in one statement: where, and what is dropped or changed.
pub(crate) type CompatHits = Vec<(Range<usize>, String)>;

/// Reports compat-drop-other's hits. Both dialects word the message the same way; only the
/// advice differs.
pub(crate) fn report_compat_other(
    out: &mut Reporter,
    rule: &'static RuleInfo,
    hits: CompatHits,
    help: &str,
) {
    for (range, what) in hits {
        out.report(
            rule,
            range,
            format!("{what}: running code may depend on what this removes or changes"),
            help.to_string(),
            None,
        );
    }
}
