//! The planner's output shapes that correctness depends on, checked without a database.

use zdm_core::format::{parse_operations, FileFormat};
use zdm_core::operations::OperationsMigration;
use zdm_core::planner::{plan_migration, Mode, Plan, Stage, Target};
use zdm_core::schema::{Column, Schema, Table};

fn column(name: &str, data_type: &str, nullable: bool) -> Column {
    Column {
        name: name.into(),
        physical: name.into(),
        data_type: data_type.into(),
        nullable,
        ..Default::default()
    }
}

fn accounts() -> Schema {
    let mut s = Schema {
        name: "public".into(),
        ..Default::default()
    };
    s.tables.insert(
        "accounts".into(),
        Table {
            name: "accounts".into(),
            physical: "accounts".into(),
            columns: vec![
                column("id", "bigint", false),
                column("name", "text", false),
                column("balance", "integer", false),
            ],
            primary_key: vec!["id".into()],
            ..Default::default()
        },
    );
    s
}

fn plan(yaml: &str) -> Plan {
    let m: OperationsMigration = parse_operations(yaml, FileFormat::Yaml).unwrap();
    let target = Target {
        schema: "public".into(),
        ledger_schema: "zdm".into(),
        migration_id: "02_change".into(),
        version_schema: "public_02_change".into(),
        previous_version_schema: None,
        server_version: 150000,
    };
    plan_migration(&m, target, accounts()).unwrap()
}

#[test]
fn rollback_drops_the_triggers_in_the_transaction_that_drops_the_helpers() {
    // Dropped earlier, an old-version write would meet the NOT VALID check on a helper column
    // that no trigger fills any more.
    let p = plan("operations:\n  - alter_column: {table: accounts, column: balance, type: bigint, up: balance::bigint, down: balance::int}\n");
    let trigger = p
        .rollback
        .iter()
        .position(|s| s.sql.starts_with("DROP TRIGGER"))
        .expect("a trigger drop");
    let helper = p
        .rollback
        .iter()
        .position(|s| s.sql.contains("DROP COLUMN IF EXISTS \"_zdm_new_balance\""))
        .expect("a helper drop");
    assert!(trigger < helper);
    for s in &p.rollback[trigger..=helper] {
        assert_eq!((s.stage, s.mode), (Stage::Undo, Mode::Transaction), "{s:?}");
    }
}

#[test]
fn names_settle_after_every_other_contract_statement() {
    let p = plan("operations:\n  - rename_table: {from: accounts, to: people}\n  - rename_column: {table: people, from: name, to: full_name}\n  - alter_column: {table: people, column: balance, type: bigint, up: balance::bigint, down: balance::int}\n");
    let contract: Vec<&str> = p
        .complete
        .iter()
        .filter(|s| s.stage == Stage::Contract)
        .map(|s| s.sql.as_str())
        .collect();
    let n = contract.len();
    assert_eq!(
        &contract[n - 2..],
        [
            "ALTER TABLE \"public\".\"accounts\" RENAME COLUMN \"name\" TO \"full_name\"",
            "ALTER TABLE \"public\".\"accounts\" RENAME TO \"people\"",
        ]
    );
    // Everything before names the table as it is during the expand.
    assert!(
        contract[..n - 2].iter().all(|s| !s.contains("\"people\"")),
        "{contract:#?}"
    );
    // The new version sees its names; the helper column stands in for balance.
    let m = &p.mapping.tables[0];
    assert_eq!(
        (m.logical.as_str(), m.physical.as_str()),
        ("people", "accounts")
    );
    assert!(m.renamed.contains(&("full_name".into(), "name".into())));
    assert!(m
        .renamed
        .contains(&("balance".into(), "_zdm_new_balance".into())));
    assert_eq!(m.hidden, ["balance"]);
}

#[test]
fn a_second_change_to_a_column_changes_the_same_helper() {
    let p = plan("operations:\n  - alter_column: {table: accounts, column: name, check: {name: name_len, constraint: length(name) > 0}, up: \"CASE WHEN length(name) > 0 THEN name ELSE 'x' END\", down: name}\n  - alter_column: {table: accounts, column: name, type: varchar(100), up: \"left(name, 100)\", down: name}\n");
    let adds: Vec<&str> = p
        .start
        .iter()
        .filter(|s| s.sql.contains("ADD COLUMN"))
        .map(|s| s.sql.as_str())
        .collect();
    assert_eq!(
        adds,
        ["ALTER TABLE \"public\".\"accounts\" ADD COLUMN \"_zdm_new_name\" varchar(100)"]
    );
    let set = &p.backfills[0].set;
    assert_eq!(
        set,
        &["\"_zdm_new_name\" = (left((CASE WHEN length(name) > 0 THEN name ELSE 'x' END), 100))"]
    );
}
