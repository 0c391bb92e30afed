//! Snapshot tests of the pure planner: a schema and an operation file in, the `zdm plan` text
//! out, for every operation and for the compositions that change names. A planner change shows
//! up here as a diff of SQL to review; accept it with `INSTA_UPDATE=always` (or `cargo insta
//! review`) after reading it.

use zdm_core::format::{parse_operations, FileFormat};
use zdm_core::planner::{plan_migration, render::plan_text, Target};
use zdm_core::schema::{Column, Constraint, ConstraintKind, Index, Schema, Table};

fn column(name: &str, data_type: &str, nullable: bool, default: Option<&str>) -> Column {
    Column {
        name: name.into(),
        physical: name.into(),
        data_type: data_type.into(),
        nullable,
        default: default.map(str::to_string),
        ..Default::default()
    }
}

/// accounts (id bigint identity pk, name text not null, email text unique, balance int not null
/// default 0 check >= 0) and orders (id serial pk, account_id → accounts, total numeric).
fn schema() -> Schema {
    let mut s = Schema {
        name: "public".into(),
        ..Default::default()
    };
    let mut id = column("id", "bigint", false, None);
    id.identity = Some("d".into());
    id.sequence = Some("accounts_id_seq".into());
    s.tables.insert(
        "accounts".into(),
        Table {
            name: "accounts".into(),
            physical: "accounts".into(),
            columns: vec![
                id,
                column("name", "text", false, None),
                column("email", "text", true, None),
                column("balance", "integer", false, Some("0")),
            ],
            primary_key: vec!["id".into()],
            indexes: vec![
                Index {
                    name: "accounts_pkey".into(),
                    columns: vec!["id".into()],
                    unique: true,
                    primary: true,
                    definition: "CREATE UNIQUE INDEX accounts_pkey ON public.accounts USING btree (id)".into(),
                },
                Index {
                    name: "accounts_email_key".into(),
                    columns: vec!["email".into()],
                    unique: true,
                    primary: false,
                    definition: "CREATE UNIQUE INDEX accounts_email_key ON public.accounts USING btree (email)".into(),
                },
            ],
            constraints: vec![
                Constraint {
                    name: "accounts_pkey".into(),
                    kind: ConstraintKind::PrimaryKey,
                    columns: vec!["id".into()],
                    definition: "PRIMARY KEY (id)".into(),
                    validated: true,
                    references: None,
                },
                Constraint {
                    name: "accounts_email_key".into(),
                    kind: ConstraintKind::Unique,
                    columns: vec!["email".into()],
                    definition: "UNIQUE (email)".into(),
                    validated: true,
                    references: None,
                },
                Constraint {
                    name: "balance_nonnegative".into(),
                    kind: ConstraintKind::Check,
                    columns: vec!["balance".into()],
                    definition: "CHECK ((balance >= 0))".into(),
                    validated: true,
                    references: None,
                },
            ],
            comment: None,
        },
    );
    s.tables.insert(
        "orders".into(),
        Table {
            name: "orders".into(),
            physical: "orders".into(),
            columns: vec![
                column(
                    "id",
                    "integer",
                    false,
                    Some("nextval('orders_id_seq'::regclass)"),
                ),
                column("account_id", "bigint", false, None),
                column("total", "numeric", true, None),
            ],
            primary_key: vec!["id".into()],
            indexes: vec![],
            constraints: vec![Constraint {
                name: "orders_account_id_fkey".into(),
                kind: ConstraintKind::ForeignKey,
                columns: vec!["account_id".into()],
                definition: "FOREIGN KEY (account_id) REFERENCES accounts(id)".into(),
                validated: true,
                references: Some(("accounts".into(), vec!["id".into()])),
            }],
            comment: None,
        },
    );
    s
}

fn plan(yaml: &str) -> String {
    let m = parse_operations(yaml, FileFormat::Yaml).unwrap();
    let target = Target {
        schema: "public".into(),
        ledger_schema: "zdm".into(),
        migration_id: "02_change".into(),
        version_schema: "public_02_change".into(),
        previous_version_schema: Some("public_01_init".into()),
        server_version: 150000,
    };
    plan_text(&plan_migration(&m, target, schema()).unwrap())
}

macro_rules! snapshots {
    ($($name:ident: $yaml:expr;)*) => {$(
        #[test]
        fn $name() {
            insta::assert_snapshot!(plan($yaml));
        }
    )*};
}

snapshots! {
    create_table: "operations:\n  - create_table:\n      name: tags\n      columns:\n        - {name: id, type: serial, pk: true}\n        - {name: label, type: text, unique: true}\n        - {name: account_id, type: bigint, references: {name: tags_account_fk, table: accounts, column: id}}\n";
    add_column_with_up_and_not_null: "operations:\n  - add_column:\n      table: accounts\n      up: \"'unknown'\"\n      column: {name: country, type: text, nullable: false, check: {name: country_len, constraint: length(country) = 2}}\n";
    add_column_volatile_default: "operations:\n  - add_column:\n      table: accounts\n      column: {name: created_at, type: timestamptz, default: now()}\n";
    alter_column_type: "operations:\n  - alter_column: {table: accounts, column: balance, type: bigint, up: balance::bigint, down: balance::integer}\n";
    alter_column_not_null: "operations:\n  - alter_column: {table: accounts, column: email, nullable: false, up: \"coalesce(email, 'none')\", down: email}\n";
    alter_column_primary_key_type: "operations:\n  - alter_column: {table: accounts, column: id, type: numeric(20), up: id::numeric, down: id::bigint}\n";
    alter_column_comment_only: "operations:\n  - alter_column: {table: accounts, column: name, comment: the display name}\n";
    rename_column: "operations:\n  - rename_column: {table: accounts, from: email, to: mail}\n";
    drop_column: "operations:\n  - drop_column: {table: accounts, column: email}\n";
    create_index: "operations:\n  - create_index: {name: accounts_name_idx, table: accounts, columns: [name], predicate: balance > 0}\n";
    drop_index: "operations:\n  - drop_index: {name: accounts_email_key}\n";
    rename_table: "operations:\n  - rename_table: {from: accounts, to: customers}\n";
    drop_table: "operations:\n  - drop_table: {name: orders}\n";
    raw_sql: "operations:\n  - sql: {up: CREATE TABLE audit (id serial PRIMARY KEY), down: DROP TABLE audit}\n";
    raw_sql_on_complete: "operations:\n  - sql: {up: ANALYZE accounts, onComplete: true}\n";
    create_check_constraint: "operations:\n  - create_constraint: {name: name_len, table: accounts, type: check, columns: [name], check: length(name) > 0, up: {name: \"coalesce(nullif(name, ''), '?')\"}, down: {name: name}}\n";
    create_unique_constraint: "operations:\n  - create_constraint: {name: accounts_name_key, table: accounts, type: unique, columns: [name], up: {name: name}, down: {name: name}}\n";
    create_foreign_key: "operations:\n  - create_constraint: {name: orders_total_fk, table: orders, type: foreign_key, columns: [account_id], references: {table: accounts, columns: [id]}, up: {account_id: account_id}, down: {account_id: account_id}}\n";
    drop_constraint: "operations:\n  - drop_constraint: {table: accounts, name: balance_nonnegative, up: balance, down: \"greatest(balance, 0)\"}\n";
    rename_constraint: "operations:\n  - rename_constraint: {table: accounts, from: balance_nonnegative, to: balance_positive}\n";
    set_replica_identity: "operations:\n  - set_replica_identity: {table: accounts, identity: {type: full}}\n";
    composed_rename_table_then_columns: "operations:\n  - rename_table: {from: accounts, to: people}\n  - rename_column: {table: people, from: name, to: full_name}\n  - add_column: {table: people, column: {name: nick, type: text, nullable: true}}\n  - create_index: {name: people_full_name_idx, table: people, columns: [full_name]}\n";
    composed_two_changes_to_one_column: "operations:\n  - alter_column: {table: accounts, column: email, check: {name: email_at, constraint: \"email LIKE '%@%'\"}, up: \"CASE WHEN email LIKE '%@%' THEN email ELSE email || '@x' END\", down: email}\n  - alter_column: {table: accounts, column: email, nullable: false, up: \"coalesce(email, 'none@x')\", down: email}\n";
    composed_drop_then_create_table: "operations:\n  - drop_table: {name: orders}\n  - create_table:\n      name: orders\n      columns:\n        - {name: id, type: bigserial, pk: true}\n        - {name: note, type: text}\n";
    composed_swap_column_names: "operations:\n  - rename_column: {table: accounts, from: name, to: tmp}\n  - rename_column: {table: accounts, from: email, to: name}\n  - rename_column: {table: accounts, from: tmp, to: email}\n";
}
