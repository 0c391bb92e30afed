//! Every rule's documented examples are its positive and negative test cases: `bad` must
//! trigger the rule, `good` must not (for each engine the rule exists for).

mod common;

use zdm_lint::{rules, Engine};

#[test]
fn every_rule_flags_its_bad_example_and_not_its_good_one() {
    let mut failures = Vec::new();
    for r in rules() {
        if r.bad.is_empty() || r.id.starts_with("op-") || r.id.starts_with("lint-trace-") {
            // operation-file rules are tested in tests/api.rs, trace rules by the CLI's trace
            // tests against real servers
            continue;
        }
        let engine = if r.engine == Engine::Any {
            Engine::Postgres
        } else {
            r.engine
        };
        let (bad_env, good_env) = r
            .example_env
            .split_once('|')
            .unwrap_or((r.example_env, r.example_env));
        let bad = common::lint(engine, r.bad, bad_env);
        if !bad.iter().any(|f| f.rule == r.id) {
            failures.push(format!(
                "{} ({:?}): bad example not flagged; got {:?}",
                r.id,
                r.engine,
                common::rules_of(&bad)
            ));
        }
        let good = common::lint(engine, r.good, good_env);
        if good.iter().any(|f| f.rule == r.id) {
            failures.push(format!(
                "{} ({:?}): good example flagged: {:?}",
                r.id,
                r.engine,
                good.iter()
                    .filter(|f| f.rule == r.id)
                    .map(|f| &f.message)
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rule_ids_are_unique_per_engine_and_documented() {
    let mut seen = std::collections::HashSet::new();
    for r in rules() {
        assert!(
            seen.insert((r.id, r.engine)),
            "duplicate rule {} for {:?}",
            r.id,
            r.engine
        );
        assert!(
            !r.summary.is_empty() && !r.why.is_empty(),
            "{} lacks docs",
            r.id
        );
    }
}
