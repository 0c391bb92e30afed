//! The pgroll file format: pgroll's own example chain parses, validates and round-trips; broken
//! files fail at the right line and column with a message naming the problem; static
//! validation applies pgroll's rules.

use std::collections::BTreeSet;
use zdm_core::format::{parse_operations, FileFormat, ParseError};
use zdm_core::operations::{AlterColumn, IndexColumn, Operation, OperationsMigration};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/compat/pgroll-examples"
);

fn yaml(text: &str) -> OperationsMigration {
    parse_operations(text, FileFormat::Yaml).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn yaml_err(text: &str) -> ParseError {
    parse_operations(text, FileFormat::Yaml).unwrap_err()
}

fn json_err(text: &str) -> ParseError {
    parse_operations(text, FileFormat::Json).unwrap_err()
}

/// The validation messages of a YAML migration that must fail validation.
fn problems(text: &str) -> Vec<String> {
    yaml(text)
        .validate()
        .expect_err("should not validate")
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn assert_valid(text: &str) {
    if let Err(e) = yaml(text).validate() {
        panic!("{e:?}\n{text}");
    }
}

#[test]
fn all_pgroll_examples_parse_validate_and_round_trip() {
    let mut paths: Vec<_> = std::fs::read_dir(DIR)
        .expect("the pgroll examples sit beside the checkout")
        .map(|e| e.unwrap().path())
        .filter(|p| FileFormat::from_path(p).is_some())
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 56);
    let mut seen = BTreeSet::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap();
        let m = parse_operations(&text, FileFormat::from_path(&p).unwrap())
            .unwrap_or_else(|e| panic!("{}:{e}", p.display()));
        m.validate()
            .unwrap_or_else(|e| panic!("{}: {e:?}", p.display()));
        let json = serde_json::to_string_pretty(&m).unwrap();
        let back = parse_operations(&json, FileFormat::Json)
            .unwrap_or_else(|e| panic!("{}: {e}\n{json}", p.display()));
        assert_eq!(back, m, "{}", p.display());
        seen.extend(m.operations.iter().map(Operation::name));
    }
    // The chain exercises every operation.
    assert_eq!(seen.len(), 15, "{seen:?}");
}

#[test]
fn serializing_keeps_pgroll_field_names() {
    let m = yaml(
        "version_schema: v2\noperations:\n  - sql:\n      up: SELECT 1\n      onComplete: true\n  - alter_column:\n      table: t\n      column: c\n      type: bigint\n      default: null\n      up: c\n      down: c\n",
    );
    let json = serde_json::to_value(&m).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "version_schema": "v2",
            "operations": [
                {"sql": {"up": "SELECT 1", "onComplete": true}},
                {"alter_column": {"table": "t", "column": "c", "type": "bigint", "default": null, "up": "c", "down": "c"}}
            ]
        })
    );
    // `default: null` (drop the default) survives the round trip, distinct from no `default`.
    let Operation::AlterColumn(AlterColumn { default, .. }) = &m.operations[1] else {
        panic!()
    };
    assert_eq!(*default, Some(None));
    let back: OperationsMigration = serde_json::from_value(json).unwrap();
    assert_eq!(back, m);
}

#[test]
fn older_pgroll_forms_are_still_read() {
    let m = yaml(
        "operations:\n  - create_index:\n      name: i\n      table: t\n      columns: [a, b]\n  - alter_column:\n      table: t\n      column: c\n      name: d\n",
    );
    m.validate().unwrap();
    let Operation::CreateIndex(ix) = &m.operations[0] else {
        panic!()
    };
    assert_eq!(ix.columns[1], IndexColumn::Name("b".into()));
    let json = serde_json::to_string(&m).unwrap();
    assert!(json.contains(r#""columns":["a","b"]"#), "{json}");
    assert_eq!(parse_operations(&json, FileFormat::Json).unwrap(), m);
}

#[test]
fn operation_names_and_tables() {
    let m = yaml(
        "operations:\n  - rename_table:\n      from: a\n      to: b\n  - drop_index:\n      name: i\n  - drop_multicolumn_constraint:\n      table: b\n      name: c\n      down:\n        x: x\n",
    );
    let described: Vec<_> = m.operations.iter().map(|o| (o.name(), o.table())).collect();
    assert_eq!(
        described,
        [
            ("rename_table", Some("a")),
            ("drop_index", None),
            ("drop_multicolumn_constraint", Some("b")),
        ]
    );
}

#[test]
fn file_format_comes_from_the_extension() {
    use std::path::Path;
    assert_eq!(
        FileFormat::from_path(Path::new("a/01.yaml")),
        Some(FileFormat::Yaml)
    );
    assert_eq!(
        FileFormat::from_path(Path::new("01.yml")),
        Some(FileFormat::Yaml)
    );
    assert_eq!(
        FileFormat::from_path(Path::new("01.json")),
        Some(FileFormat::Json)
    );
    assert_eq!(FileFormat::from_path(Path::new("01.sql")), None);
    assert_eq!(FileFormat::from_path(Path::new("yaml")), None);
}

// ---- parse errors: exact line and column, and a message naming the problem ----

#[test]
fn malformed_yaml() {
    let e = yaml_err("operations:\n  - create_table:\n      name: t\n      columns: [\n");
    assert_eq!((e.line, e.column), (4, 16), "{e}");
    assert_eq!(e.message, "unclosed bracket '['");
    assert_eq!(e.to_string(), "4:16: unclosed bracket '['");

    let e = yaml_err("operations:\n  - drop_table:\n      name: t\n     x: y\n");
    assert_eq!((e.line, e.column), (4, 6), "{e}");
    assert!(e.message.contains("did not find expected key"), "{e}");

    let e = yaml_err("# nothing yet\n");
    assert!(e.message.starts_with("the file is empty"), "{e}");
}

#[test]
fn malformed_json() {
    let e = json_err("{\"operations\": [\n  {\"create_table\": {\"name\": \"t\",}}\n]}");
    assert_eq!((e.line, e.column), (2, 33), "{e}");
    assert_eq!(e.message, "trailing comma");

    let e = json_err("{\"operations\": [\n  {\"create_table\": {\"name\": \"t\"");
    assert_eq!((e.line, e.column), (2, 31), "{e}");
    assert_eq!(e.message, "EOF while parsing an object");
}

#[test]
fn unknown_operation() {
    let e = yaml_err("operations:\n  - explode_table:\n      name: t\n");
    assert_eq!((e.line, e.column), (2, 5), "{e}");
    assert!(
        e.message.starts_with(
            "unknown operation `explode_table`, expected one of create_table, add_column,"
        ),
        "{e}"
    );

    let e = json_err("{\"operations\": [\n  {\"explode_table\": {\"name\": \"t\"}}\n]}");
    assert_eq!((e.line, e.column), (2, 4), "{e}");
    assert!(
        e.message
            .starts_with("unknown operation `explode_table`, expected one of `create_table`,"),
        "{e}"
    );
}

#[test]
fn unknown_field_inside_a_column() {
    let e = yaml_err(
        "operations:\n  - create_table:\n      name: t\n      columns:\n        - name: id\n          type: int\n          colour: red\n",
    );
    assert_eq!((e.line, e.column), (7, 11), "{e}");
    assert_eq!(
        e.message,
        "unknown field `colour`, expected one of name, type, nullable, pk, unique, default, check, references, comment, generated"
    );

    let e = json_err(
        "{\"operations\": [\n  {\"create_table\": {\"name\": \"t\", \"columns\": [\n    {\"name\": \"id\", \"type\": \"int\", \"colour\": \"red\"}]}}\n]}",
    );
    assert_eq!((e.line, e.column), (3, 35), "{e}");
    assert!(
        e.message
            .starts_with("unknown field `colour`, expected one of `name`, `type`,"),
        "{e}"
    );

    // Deeper still: inside a column's foreign key, and inside an index column (hand-written
    // deserializer).
    let e = yaml_err(
        "operations:\n  - add_column:\n      table: t\n      column:\n        name: c\n        type: int\n        references:\n          name: fk\n          table: u\n          column: id\n          on_delet: CASCADE\n",
    );
    assert_eq!((e.line, e.column), (11, 11), "{e}");
    assert!(
        e.message.starts_with(
            "unknown field `on_delet`, expected one of name, table, column, on_delete,"
        ),
        "{e}"
    );

    let e = yaml_err(
        "operations:\n  - create_index:\n      name: i\n      table: t\n      columns:\n        - column: a\n          sortt: ASC\n",
    );
    assert_eq!((e.line, e.column), (7, 11), "{e}");
    assert!(
        e.message
            .starts_with("unknown field `sortt`, expected one of column, collate, sort,"),
        "{e}"
    );
}

#[test]
fn wrong_type() {
    let e = yaml_err(
        "operations:\n  - create_table:\n      name: t\n      columns:\n        - name: id\n          type: int\n          nullable: maybe # ?\n",
    );
    assert_eq!((e.line, e.column), (7, 21), "{e}");
    assert_eq!(
        e.message,
        "invalid type: expected a boolean (true or false), found `maybe`"
    );

    let e = yaml_err("operations:\n  - create_table:\n      name: t\n      columns: 5\n");
    assert_eq!((e.line, e.column), (4, 16), "{e}");
    assert_eq!(e.message, "invalid type: expected a sequence, found `5`");

    let e = yaml_err("operations:\n  - drop_table:\n      name:\n        a: b\n");
    assert_eq!((e.line, e.column), (4, 9), "{e}");
    assert_eq!(
        e.message,
        "invalid type: expected a string, found a mapping"
    );

    let e = yaml_err("operations:\n  - drop_table\n");
    assert_eq!((e.line, e.column), (2, 5), "{e}");
    assert_eq!(
        e.message,
        "invalid type: expected a mapping, found `drop_table`"
    );

    let e = json_err(
        "{\"operations\": [\n  {\"create_table\": {\"name\": \"t\", \"columns\": [{\"name\": \"id\", \"type\": \"int\", \"nullable\": \"maybe\"}]}}\n]}",
    );
    assert_eq!((e.line, e.column), (2, 88), "{e}");
    assert_eq!(
        e.message,
        "invalid type: string \"maybe\", expected a boolean"
    );

    let e = json_err("{\"operations\": [\n  {\"drop_table\": {\"name\": 12345}}\n]}");
    assert_eq!((e.line, e.column), (2, 27), "{e}");
    assert_eq!(
        e.message,
        "invalid type: integer `12345`, expected a string"
    );
}

#[test]
fn missing_required_field() {
    // At the first key of the mapping that lacks it.
    let e = yaml_err(
        "operations:\n  - create_table:\n      name: t\n      columns:\n        - name: id\n          nullable: true\n          unique: true\n",
    );
    assert_eq!((e.line, e.column), (5, 11), "{e}");
    assert_eq!(e.message, "missing field `type`");

    let e = yaml_err(
        "operations:\n  - create_table:\n      columns:\n        - name: id\n          type: int\n",
    );
    assert_eq!((e.line, e.column), (3, 7), "{e}");
    assert_eq!(e.message, "missing field `name`");

    let e = yaml_err("version_schema: v\n");
    assert_eq!((e.line, e.column), (1, 1), "{e}");
    assert_eq!(e.message, "missing field `operations`");

    // At the `{` of the object that lacks it.
    let e = json_err("{\"operations\": [\n  {\"create_table\": {\"columns\": []}}\n]}");
    assert_eq!((e.line, e.column), (2, 20), "{e}");
    assert_eq!(e.message, "missing field `name`");
}

#[test]
fn an_operation_has_one_key() {
    let e =
        yaml_err("operations:\n  - drop_table:\n      name: t\n    drop_index:\n      name: i\n");
    assert_eq!((e.line, e.column), (4, 5), "{e}");
    assert!(
        e.message.starts_with("an operation has exactly one key"),
        "{e}"
    );

    let e = json_err(
        "{\"operations\": [\n  {\"drop_table\": {\"name\": \"t\"},\n   \"drop_index\": {\"name\": \"i\"}}\n]}",
    );
    assert_eq!((e.line, e.column), (3, 4), "{e}");
    assert!(
        e.message.starts_with("an operation has exactly one key"),
        "{e}"
    );
}

#[test]
fn operations_without_a_name_or_fields() {
    let e = json_err("{\"operations\": [{}]}");
    assert_eq!((e.line, e.column), (1, 17), "{e}");
    assert!(e.message.starts_with("expected an operation"), "{e}");
    let e = json_err("{\"operations\": [\"drop_table\"]}");
    assert_eq!((e.line, e.column), (1, 17), "{e}");
    assert!(e.message.ends_with("found only a name"), "{e}");
    let e = yaml_err("operations:\n  - {}\n");
    assert!(e.message.starts_with("expected an operation"), "{e}");
}

#[test]
fn duplicate_keys_and_documents() {
    let e = yaml_err("operations:\n  - drop_table:\n      name: t\n      name: u\n");
    assert_eq!((e.line, e.column), (4, 7), "{e}");
    assert_eq!(e.message, "duplicate key `name`");
    let e = json_err("{\"operations\": [{\"drop_table\": {\"name\": \"t\", \"name\": \"u\"}}]}");
    assert_eq!((e.line, e.column), (1, 46), "{e}");
    assert_eq!(e.message, "duplicate field `name`");
    let e = yaml_err("operations: []\n---\noperations: []\n");
    assert_eq!((e.line, e.column), (3, 1), "{e}");
    assert!(
        e.message
            .starts_with("a migration file holds one YAML document"),
        "{e}"
    );
}

// ---- static validation ----

#[test]
fn empty_migrations_and_long_names() {
    let errs = yaml("operations: []\n").validate().unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].operation, None);
    assert_eq!(
        errs[0].to_string(),
        "`operations` is empty: a migration needs at least one operation"
    );

    let ok = "x".repeat(63);
    assert_valid(&format!("operations:\n  - drop_table:\n      name: {ok}\n"));
    let long = "é".repeat(32); // 64 bytes in 32 characters
    let errs = yaml(&format!(
        "operations:\n  - drop_index:\n      name: i\n  - drop_table:\n      name: {long}\n"
    ))
    .validate()
    .unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].operation, Some((1, "drop_table")));
    assert!(
        errs[0]
            .to_string()
            .starts_with("operation 1 (drop_table): `name` `é"),
        "{}",
        errs[0]
    );
    assert!(errs[0]
        .message
        .contains("is 64 bytes long; PostgreSQL identifiers are at most 63 bytes"));

    let p = problems("version_schema: ''\noperations:\n  - drop_table:\n      name: ''\n");
    assert_eq!(
        p,
        [
            "`version_schema` is empty",
            "operation 0 (drop_table): `name` is empty"
        ]
    );
}

#[test]
fn create_table_rules() {
    let p = problems("operations:\n  - create_table:\n      name: t\n      columns: []\n");
    assert_eq!(
        p,
        ["operation 0 (create_table): `columns` is empty: a table needs at least one column"]
    );

    let p = problems(
        "operations:\n  - create_table:\n      name: t\n      columns:\n        - {name: id, type: int, pk: true}\n        - {name: id, type: ''}\n        - name: g\n          type: int\n          default: '1'\n          generated: {expression: id * 2, identity: {}}\n      constraints:\n        - {name: pk, type: primary_key, columns: [id]}\n        - {name: c, type: check, check: id > 0, deferrable: true}\n        - {name: u, type: unique, columns: [nope]}\n        - {name: f, type: foreign_key, columns: [id]}\n        - {name: x, type: exclude}\n        - {name: y, type: Unique, columns: [id]}\n",
    );
    let expected = [
        "`columns[1].type` is empty",
        "`columns[2].generated`: only one of `expression` and `identity` may be set",
        "`columns[2]`: a generated column cannot also have a `default`",
        "column `id` appears more than once",
        "`constraints[1].deferrable` does not apply to a check constraint",
        "`constraints[2].columns` names `nope`, which is not a column of this table",
        "`constraints[3].references` is required for a foreign key",
        "`constraints[4].exclude` is required for an exclusion constraint",
        "`constraints[5].type` is `Unique`, expected one of unique, check, primary_key, foreign_key, exclude",
        "the primary key is set both by columns' `pk` and by a primary_key constraint; use one",
    ];
    let expected: Vec<String> = expected
        .iter()
        .map(|m| format!("operation 0 (create_table): {m}"))
        .collect();
    assert_eq!(p, expected);
}

#[test]
fn add_column_needs_a_way_to_fill_existing_rows() {
    let p = problems("operations:\n  - add_column:\n      table: t\n      column:\n        name: c\n        type: int\n");
    assert_eq!(p.len(), 1);
    assert!(
        p[0].contains("column `c` is NOT NULL without a default"),
        "{p:?}"
    );
    // A default, an `up`, a serial type, nullable: any of them will do.
    for extra in ["        default: '0'\n", "        nullable: true\n"] {
        assert_valid(&format!(
            "operations:\n  - add_column:\n      table: t\n      column:\n        name: c\n        type: int\n{extra}"
        ));
    }
    assert_valid("operations:\n  - add_column:\n      table: t\n      up: '0'\n      column:\n        name: c\n        type: int\n");
    assert_valid("operations:\n  - add_column:\n      table: t\n      column:\n        name: c\n        type: BIGSERIAL\n");

    let p = problems("operations:\n  - add_column:\n      table: t\n      column:\n        name: c\n        type: int\n        pk: true\n");
    assert!(
        p[0].contains("adding a primary-key column to an existing table is not supported"),
        "{p:?}"
    );
    // A table created earlier in the migration is empty: both are fine there.
    assert_valid(
        "operations:\n  - create_table:\n      name: t\n      columns: [{name: id, type: int}]\n  - add_column:\n      table: t\n      column:\n        name: c\n        type: int\n        pk: true\n",
    );
}

#[test]
fn alter_column_needs_a_change_and_pgrolls_up_down() {
    let p = problems("operations:\n  - alter_column:\n      table: t\n      column: c\n");
    assert_eq!(p.len(), 1);
    assert!(p[0].contains("alter_column changes nothing"), "{p:?}");

    let p = problems(
        "operations:\n  - alter_column:\n      table: t\n      column: c\n      type: bigint\n",
    );
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[0].starts_with("operation 0 (alter_column): `up` is required with type:"),
        "{p:?}"
    );
    assert!(
        p[1].starts_with("operation 0 (alter_column): `down` is required with type:"),
        "{p:?}"
    );

    let p = problems("operations:\n  - alter_column:\n      table: t\n      column: c\n      nullable: false\n      down: c\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains("`up` is required with nullable: false"),
        "{p:?}"
    );
    let p = problems("operations:\n  - alter_column:\n      table: t\n      column: c\n      nullable: true\n      up: c\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains("`down` is required with nullable: true"),
        "{p:?}"
    );
    let p = problems(
        "operations:\n  - alter_column:\n      table: t\n      column: c\n      check: {name: ck, constraint: c > 0}\n      references: {name: fk, table: u, column: id, on_delete: EXPLODE}\n      up: c\n",
    );
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[0].contains("`references.on_delete` is `EXPLODE`, expected one of NO ACTION,"),
        "{p:?}"
    );
    assert!(
        p[1].contains("`down` is required with check, references"),
        "{p:?}"
    );

    // Unique, default and comment need neither.
    assert_valid("operations:\n  - alter_column:\n      table: t\n      column: c\n      unique: {name: u}\n      default: null\n      comment: null\n");
}

#[test]
fn create_constraint_rules() {
    let base = "operations:\n  - create_constraint:\n      table: t\n      name: k\n";
    assert_valid(&format!(
        "{base}      type: check\n      check: a > b\n      columns: [a, b]\n      up: {{a: a, b: b}}\n      down: {{a: a, b: b}}\n"
    ));
    let p = problems(&format!("{base}      type: check\n"));
    assert_eq!(p, ["operation 0 (create_constraint): `check` (the expression) is required for a check constraint"]);
    let p = problems(&format!("{base}      type: unique\n"));
    assert_eq!(
        p,
        ["operation 0 (create_constraint): `columns` is required for a unique constraint"]
    );
    let p = problems(&format!(
        "{base}      type: foreign_key\n      columns: [a]\n      check: 'true'\n      up: {{a: a, z: z}}\n      down: {{}}\n"
    ));
    assert_eq!(
        p,
        [
            "operation 0 (create_constraint): `check` does not apply to a foreign key",
            "operation 0 (create_constraint): `references` is required for a foreign key",
            "operation 0 (create_constraint): `up` has an entry for `z`, which is not one of `columns`",
            "operation 0 (create_constraint): `down` has no entry for column `a`",
        ]
    );
    let p = problems(&format!(
        "{base}      type: foreign_key\n      columns: [a]\n      references: {{table: u, columns: [x, y], match_type: PARTIAL}}\n      up: {{a: a}}\n      down: {{a: a}}\n"
    ));
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[0].contains("`references.columns` lists 2 column(s) for 1 referencing column(s)"),
        "{p:?}"
    );
    assert!(
        p[1].contains("PostgreSQL does not implement MATCH PARTIAL"),
        "{p:?}"
    );
    let p = problems(&format!("{base}      type: exclude\n"));
    assert!(
        p[0].contains(
            "`type` is `exclude`, expected one of unique, check, foreign_key, primary_key"
        ),
        "{p:?}"
    );
}

#[test]
fn other_operations() {
    let p = problems("operations:\n  - sql:\n      up: ' '\n  - sql:\n      up: SELECT 1\n      down: SELECT 2\n      onComplete: true\n");
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(p[0], "operation 0 (sql): `up` is empty");
    assert!(
        p[1].starts_with("operation 1 (sql): `down` is not allowed with `onComplete: true`"),
        "{p:?}"
    );

    let p = problems("operations:\n  - set_replica_identity:\n      table: t\n      identity: {type: index}\n  - set_replica_identity:\n      table: t\n      identity: {type: some}\n");
    assert_eq!(
        p,
        [
            "operation 0 (set_replica_identity): `identity.index` is required for type `index`",
            "operation 1 (set_replica_identity): `identity.type` is `some`, expected one of nothing, default, index, full",
        ]
    );
    assert_valid(
        "operations:\n  - set_replica_identity:\n      table: t\n      identity: {type: FULL}\n",
    );

    let p = problems("operations:\n  - create_index:\n      name: i\n      table: t\n      method: hash\n      unique: true\n      columns:\n        - {column: a, sort: UP}\n");
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[0].contains("`columns[0].sort` is `UP`, expected one of ASC, DESC"),
        "{p:?}"
    );
    assert!(p[1].contains("`unique` needs the btree method"), "{p:?}");

    let p = problems("operations:\n  - rename_column:\n      table: t\n      from: a\n      to: a\n  - drop_constraint:\n      table: t\n      name: k\n  - drop_multicolumn_constraint:\n      table: t\n      name: k\n");
    assert_eq!(
        p,
        [
            "operation 0 (rename_column): `from` and `to` are the same name",
            "operation 1 (drop_constraint): `down` is required: it makes values the new version writes satisfy the constraint the old version still has",
            "operation 2 (drop_multicolumn_constraint): `down` is required: one entry per column of the constraint",
        ]
    );
}
