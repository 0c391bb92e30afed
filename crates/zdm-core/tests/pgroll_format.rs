//! Every example of pgroll's chain parses, validates and round-trips through JSON unchanged.

use zdm_core::format::{parse_operations, FileFormat};
use zdm_core::operations::OperationsMigration;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/compat/pgroll-examples"
);

#[test]
fn all_pgroll_examples_parse_validate_and_round_trip() {
    let mut paths: Vec<_> = std::fs::read_dir(DIR)
        .expect("the pgroll examples sit beside the checkout")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "json"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 56);
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap();
        let m = parse_operations(&text, FileFormat::from_path(&p).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        m.validate()
            .unwrap_or_else(|e| panic!("{}: {e:?}", p.display()));
        let json = serde_json::to_string(&m).unwrap();
        let back: OperationsMigration = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m, "{}", p.display());
    }
}

#[test]
fn static_validation_catches_impossible_operations() {
    let m = parse_operations("operations:\n  - add_column:\n      table: t\n      column:\n        name: c\n        type: int\n", FileFormat::Yaml).unwrap();
    let errs = m.validate().unwrap_err();
    assert!(
        errs[0].message.contains("NOT NULL without a default"),
        "{errs:?}"
    );
    let m = parse_operations(
        "operations:\n  - alter_column:\n      table: t\n      column: c\n",
        FileFormat::Yaml,
    )
    .unwrap();
    assert!(m.validate().unwrap_err()[0]
        .message
        .contains("changes nothing"));
    let long = "x".repeat(64);
    let m = parse_operations(
        &format!("operations:\n  - drop_table:\n      name: {long}\n"),
        FileFormat::Yaml,
    )
    .unwrap();
    assert!(m.validate().unwrap_err()[0].message.contains("63-byte"));
}
