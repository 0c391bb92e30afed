//! squawk's rule test inputs (`shared/compat/squawk-cases`, see its SOURCE.md) against zdm.
//!
//! Each squawk rule maps to the zdm rule(s) covering the same hazard. For every case of a
//! mapped rule zdm must agree with squawk (a positive case flagged by one of the mapped rules,
//! a negative case by none of them), except the cases listed in `DIFFERS`, where squawk is
//! wrong or zdm knows more (replayed catalog, versions, zdm's transaction semantics): there
//! zdm's own verdict is asserted and the reason documented. Prints a coverage summary.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use zdm_lint::{lint_file, new_schema, Options};

/// squawk rule → zdm rules covering the hazard (empty: not a migration-safety hazard).
const MAP: &[(&str, &[&str], &str)] = &[
    ("adding-field-with-default", &["pg-add-column-volatile-default", "pg-add-column-rewrite"], ""),
    ("adding-foreign-key-constraint", &["pg-constraint-not-valid"], ""),
    ("adding-not-nullable-field", &["pg-set-not-null"], ""),
    ("adding-required-field", &["pg-add-column-required"], ""),
    ("adding-serial-primary-key-field", &["pg-add-primary-key", "pg-add-unique-constraint", "pg-add-column-rewrite"], ""),
    ("ban-alter-domain-with-add-constraint", &["pg-domain-constraint"], ""),
    ("ban-char-field", &["type-hygiene"], ""),
    ("ban-concurrent-index-creation-in-transaction", &["pg-concurrently-in-transaction"], ""),
    ("ban-create-domain-with-constraint", &["pg-domain-constraint"], ""),
    ("ban-drop-column", &["compat-drop-column"], ""),
    ("ban-drop-database", &["compat-drop-database"], ""),
    ("ban-drop-not-null", &["compat-drop-not-null"], ""),
    ("ban-drop-table", &["compat-drop-table"], ""),
    ("ban-duplicate-column-assignments", &[], "PostgreSQL itself rejects a column assigned twice (42601, multiple assignments to same column): a syntax/semantic error, not a migration-safety hazard"),
    ("ban-truncate-cascade", &["pg-truncate-cascade"], ""),
    ("ban-uncommitted-transaction", &["tx-uncommitted"], ""),
    ("changing-column-type", &["pg-alter-type-rewrite"], ""),
    ("constraint-missing-not-valid", &["pg-constraint-not-valid", "pg-validate-same-tx"], ""),
    ("disallowed-unique-constraint", &["pg-add-unique-constraint"], ""),
    ("identifier-too-long", &["identifier-too-long"], ""),
    ("prefer-bigint-over-int", &["type-hygiene"], ""),
    ("prefer-bigint-over-smallint", &["type-hygiene"], ""),
    ("prefer-identity", &["type-hygiene"], ""),
    ("prefer-repack", &["pg-vacuum-full-cluster"], ""),
    ("prefer-robust-stmts", &["idempotent-ddl"], ""),
    ("prefer-text-field", &["type-hygiene"], ""),
    ("prefer-timestamp-tz", &["type-hygiene"], ""),
    ("renaming-column", &["compat-rename-column"], ""),
    ("renaming-table", &["compat-rename-table"], ""),
    ("require-concurrent-index-creation", &["pg-index-create-not-concurrent"], ""),
    ("require-concurrent-index-deletion", &["pg-index-drop-not-concurrent"], ""),
    ("require-concurrent-partition-detach", &["pg-detach-partition-not-concurrent"], ""),
    ("require-concurrent-reindex", &["pg-reindex-not-concurrent"], ""),
    ("require-enum-value-ordering", &["pg-enum-add-value"], ""),
    ("require-lock-timeout", &["pg-require-lock-timeout"], ""),
    ("require-statement-timeout", &["pg-require-statement-timeout"], ""),
    ("require-table-schema", &["schema-qualified"], ""),
    ("require-timeout-settings", &["pg-require-lock-timeout", "pg-require-statement-timeout"], ""),
    ("transaction-nesting", &["tx-nesting"], ""),
];

/// For squawk rules that map to a broader zdm rule: only findings whose message contains
/// this text count (type-hygiene covers several squawk style rules).
const FILTER: &[(&str, &str)] = &[
    ("ban-char-field", "pads with spaces"),
    ("prefer-bigint-over-int", "32-bit"),
    ("prefer-bigint-over-smallint", "16-bit"),
    ("prefer-identity", "serial types"),
    ("prefer-text-field", "length limit"),
    ("prefer-timestamp-tz", "without time zone"),
];

/// Cases where zdm's verdict differs from squawk's on purpose: (path, zdm flags?, why).
const DIFFERS: &[(&str, bool, &str)] = &[
    ("adding-field-with-default__5.sql", false, "now() is STABLE: PG11+ stores the default in the catalog, no rewrite (now(123) does not even exist; PostgreSQL rejects the call)"),
    ("adding-field-with-default__7.sql", false, "on PG11 a constant DEFAULT 10 is a catalog-only change; squawk's version comparison treats \"11\" and \"11.0\" differently"),
    ("ok/ban-concurrent-index-creation-in-transaction__ok__3.sql", true, "under zdm a CONCURRENTLY statement makes the runner execute the whole file statement by statement, so the other statements silently lose their transaction; the COMMIT/BEGIN juggling that works in other tools is rejected by zdm's loader"),
    ("identifier-too-long__3.sql", false, "PostgreSQL truncates the name on lookup too, so DROP TABLE finds the table CREATE TABLE made under the truncated name: nothing goes wrong"),
    ("ok/prefer-repack__ok__2.sql", true, "CLUSTER rewrites the table under ACCESS EXCLUSIVE on every version; pg_repack/pg_squeeze are the online alternative before PG19's REPACK"),
    ("ok/prefer-repack__ok__3.sql", true, "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE on every version; pg_repack/pg_squeeze are the online alternative before PG19's REPACK"),
    ("prefer-robust-stmts__14.sql", false, "ENABLE ROW LEVEL SECURITY is idempotent: re-running it succeeds"),
    ("prefer-robust-stmts__15.sql", false, "ENABLE ROW LEVEL SECURITY is idempotent: re-running it succeeds"),
    ("prefer-robust-stmts__16.sql", false, "DISABLE ROW LEVEL SECURITY is idempotent: re-running it succeeds"),
    ("prefer-robust-stmts__18.sql", false, "SET NOT NULL is idempotent (zdm flags its lock with pg-set-not-null instead)"),
    ("require-timeout-settings__7.sql", false, "CREATE TYPE locks no existing table: there is nothing to queue behind"),
    ("require-timeout-settings__8.sql", false, "COMMENT ON takes SHARE UPDATE EXCLUSIVE, which does not block reads or writes"),
    ("require-timeout-settings__10.sql", false, "VACUUM (FULL false) is a plain VACUUM: SHARE UPDATE EXCLUSIVE, no reads or writes blocked"),
    ("require-timeout-settings__11.sql", false, "ACCESS SHARE conflicts only with ACCESS EXCLUSIVE: it blocks no reads or writes"),
    ("require-timeout-settings__16.sql", false, "the ALTER targets a table created earlier in the same file: nobody else can be using it"),
];

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/compat/squawk-cases")
}

struct Case {
    path: String,
    rule: String,
    fires: bool,
    args: String,
}

fn cases() -> Vec<Case> {
    let manifest = std::fs::read_to_string(corpus_dir().join("manifest.json"))
        .expect("squawk-cases/manifest.json (shared/ beside the checkout)");
    let v: serde_json::Value = serde_json::from_str(&manifest).expect("manifest json");
    v.as_array()
        .expect("array")
        .iter()
        .map(|c| Case {
            path: c["path"].as_str().unwrap_or_default().to_string(),
            rule: c["rule"].as_str().unwrap_or_default().to_string(),
            fires: c["expect"].as_str() == Some("fires"),
            args: c["squawk_args"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

/// squawk's options as zdm options: squawk assumes no surrounding transaction unless told.
fn options(args: &str, text: &str) -> Options {
    let mut o = Options::postgres(15);
    o.in_transaction = false;
    o.enable.push("all".into());
    if text.contains("squawk-disable-assume-in-transaction") {
        return o;
    }
    for a in args.split_whitespace() {
        if a == "--assume-in-transaction" {
            o.in_transaction = true;
        } else if let Some(v) = a.strip_prefix("--pg-version=") {
            o.pg_version = v
                .split('.')
                .next()
                .and_then(|x| x.parse().ok())
                .unwrap_or(15);
        }
    }
    o
}

#[test]
fn squawk_cases() {
    let mut per_rule: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let (mut covered, mut total) = (0, 0);
    for case in cases() {
        total += 1;
        let Some((_, zdm_rules, reason)) = MAP.iter().find(|(s, _, _)| *s == case.rule) else {
            failures.push(format!(
                "{}: squawk rule {} has no mapping",
                case.path, case.rule
            ));
            continue;
        };
        let entry = per_rule.entry(case.rule.clone()).or_default();
        entry.1 += 1;
        if zdm_rules.is_empty() {
            assert!(
                !reason.is_empty(),
                "{} maps to nothing without a reason",
                case.rule
            );
            continue;
        }
        let text = std::fs::read_to_string(corpus_dir().join(&case.path)).expect("case file");
        let opts = options(&case.args, &text);
        let mut schema = new_schema(&opts);
        let findings = lint_file(&case.path, &text, &opts, &mut schema).expect("lint");
        let filter = FILTER
            .iter()
            .find(|(r, _)| *r == case.rule)
            .map(|(_, f)| *f);
        let flagged = findings
            .iter()
            .any(|f| zdm_rules.contains(&f.rule) && filter.is_none_or(|t| f.message.contains(t)));
        let expected = match DIFFERS.iter().find(|(p, _, _)| *p == case.path) {
            Some((_, zdm, _)) => *zdm,
            None => case.fires,
        };
        if flagged == expected {
            covered += 1;
            entry.0 += 1;
        } else {
            let got: Vec<String> = findings
                .iter()
                .map(|f| format!("{}: {}", f.rule, f.message))
                .collect();
            failures.push(format!(
                "{} [{}] squawk {} ; zdm {} (mapped {:?})\n    {}\n    got: {:#?}",
                case.path,
                case.args,
                if case.fires { "fires" } else { "does not fire" },
                if flagged { "flags" } else { "does not flag" },
                zdm_rules,
                text.trim().replace('\n', "\n    "),
                got
            ));
        }
    }
    let unmapped: usize = per_rule
        .iter()
        .filter(|(r, _)| MAP.iter().any(|(s, z, _)| s == r && z.is_empty()))
        .map(|(_, (_, n))| n)
        .sum();
    let differs = DIFFERS.len();
    println!(
        "squawk corpus: {covered}/{total} cases checked and agreeing ({} mapped cases: {} same verdict as squawk, {differs} documented differences; {unmapped} cases of style-only rules mapped to none)",
        total - unmapped,
        covered - differs,
    );
    for (rule, (ok, n)) in &per_rule {
        let zdm = MAP
            .iter()
            .find(|(s, _, _)| s == rule)
            .map(|(_, z, reason)| {
                if z.is_empty() {
                    format!("none: {reason}")
                } else {
                    z.join(", ")
                }
            })
            .unwrap_or_default();
        println!("  {rule:45} {ok:>3}/{n:<3} -> {zdm}");
    }
    for (path, _, _) in DIFFERS {
        assert!(
            corpus_dir().join(path).exists(),
            "DIFFERS names a missing case {path}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} case(s) disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
