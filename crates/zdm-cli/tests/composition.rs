//! Several operations of one migration on the same table or column compose, as they do in pgroll:
//! each operation sees the schema as the earlier ones left it, the old version keeps seeing the
//! schema as it was, complete settles every name once, and rollback leaves the catalog exactly as
//! it was. Each case runs start → reads and writes through both versions → complete, and again
//! start → rollback on a fresh database.

mod common;

use common::Env;
use tokio_postgres::Client;

struct Case {
    name: &'static str,
    setup: &'static str,
    yaml: &'static str,
    /// Statements through the old version (the tables as they were), after start.
    old: &'static [&'static str],
    /// Statements through the new version schema, after start; `SELECT`s must return `expect`.
    new: &'static [(&'static str, Option<&'static str>)],
    /// Statements on the physical tables after complete; `SELECT`s must return `expect`.
    after: &'static [(&'static str, Option<&'static str>)],
}

/// Everything rollback must restore: columns, types, nullability, defaults, constraints, indexes.
async fn catalog(c: &Client) -> Vec<String> {
    c.query(
        "SELECT format('column %s.%s %s %s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)) \
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
           LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
          WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped \
         UNION ALL SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) FROM pg_constraint \
          WHERE connamespace = 'public'::regnamespace \
         UNION ALL SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname = 'public' \
         ORDER BY 1",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

async fn in_schema(env: &Env, schema: &str) -> Client {
    let c = env.db.connect().await;
    c.batch_execute(&format!("SET search_path = \"{schema}\""))
        .await
        .unwrap();
    c
}

async fn check(c: &Client, case: &str, phase: &str, sql: &str, expect: Option<&str>) {
    let rows = c
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{case}: {phase}: `{sql}` failed: {e:?}"));
    if let Some(expect) = expect {
        let got: Vec<String> = rows
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    Some(r.get(0).unwrap_or("NULL").to_string())
                }
                _ => None,
            })
            .collect();
        assert_eq!(got.join(","), expect, "{case}: {phase}: `{sql}`");
    }
}

/// The new version's columns of every view, which after complete must be the physical table's.
async fn view_columns(c: &Client, schema: &str) -> Vec<String> {
    c.query(
        "SELECT table_name || '.' || column_name || ' ' || data_type FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position",
        &[&schema],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

async fn run_case(case: &Case) {
    // start → both versions → complete
    let env = Env::new().await;
    let c = env.db.connect().await;
    c.batch_execute(case.setup).await.unwrap();
    let file = env.write("02_change.yaml", case.yaml);
    let r = env.run(&["start", file.to_str().unwrap()]).await;
    assert_eq!(r.code, 0, "{}: start: {r:?}", case.name);
    let old = env.db.connect().await;
    for sql in case.old {
        check(&old, case.name, "old version", sql, None).await;
    }
    let new = in_schema(&env, "public_02_change").await;
    for (sql, expect) in case.new {
        check(&new, case.name, "new version", sql, *expect).await;
    }
    let mut before_complete = view_columns(&c, "public_02_change").await;
    before_complete.sort();
    let r = env.run(&["complete"]).await;
    assert_eq!(r.code, 0, "{}: complete: {r:?}", case.name);
    for (sql, expect) in case.after {
        check(&c, case.name, "after complete", sql, *expect).await;
    }
    for sql in case
        .new
        .iter()
        .map(|(s, _)| s)
        .filter(|s| s.starts_with("SELECT"))
    {
        check(&new, case.name, "new version after complete", sql, None).await;
    }
    let mut physical = view_columns(&c, "public").await;
    physical.retain(|l| !l.contains("._zdm_"));
    physical.sort();
    assert_eq!(
        before_complete, physical,
        "{}: the tables after complete differ from what the new version showed",
        case.name
    );

    // start → rollback: the catalog as it was
    let env = Env::new().await;
    let c = env.db.connect().await;
    c.batch_execute(case.setup).await.unwrap();
    let before = catalog(&c).await;
    let file = env.write("02_change.yaml", case.yaml);
    let r = env.run(&["start", file.to_str().unwrap()]).await;
    assert_eq!(r.code, 0, "{}: start: {r:?}", case.name);
    let r = env.run(&["rollback"]).await;
    assert_eq!(r.code, 0, "{}: rollback: {r:?}", case.name);
    assert_eq!(catalog(&c).await, before, "{}: rollback", case.name);
}

const USERS: &str = "CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, email text, age text); \
    INSERT INTO users (name, email, age) SELECT 'u' || g, 'u' || g || '@x', g::text FROM generate_series(1, 500) g";

#[tokio::test(flavor = "multi_thread")]
async fn rename_table_then_change_its_columns_and_indexes() {
    run_case(&Case {
        name: "rename table then add, drop, rename columns, index, check",
        setup: USERS,
        yaml: "operations:
  - rename_table: {from: users, to: people}
  - add_column:
      table: people
      column: {name: nickname, type: text, nullable: true}
  - drop_column: {table: people, column: age}
  - rename_column: {table: people, from: email, to: mail}
  - create_index: {name: people_mail_idx, table: people, columns: [mail]}
  - create_constraint:
      name: people_name_len
      table: people
      type: check
      columns: [name]
      check: length(name) > 0
      up: {name: \"CASE WHEN length(name) > 0 THEN name ELSE 'x' END\"}
      down: {name: name}
",
        old: &[
            "INSERT INTO users (name, email, age) VALUES ('old', 'old@x', '7')",
            "SELECT id, name, email, age FROM users",
        ],
        new: &[
            ("INSERT INTO people (name, mail, nickname) VALUES ('new', 'new@x', 'n')", None),
            ("SELECT count(*) FROM people WHERE mail LIKE '%@x'", Some("502")),
            ("SELECT count(*) FROM people WHERE name = 'old'", Some("1")),
        ],
        after: &[
            ("SELECT count(*) FROM people", Some("502")),
            ("SELECT mail FROM people WHERE name = 'new'", Some("new@x")),
            ("SELECT count(*) FROM pg_indexes WHERE indexname = 'people_mail_idx' AND tablename = 'people'", Some("1")),
            ("SELECT count(*) FROM pg_constraint WHERE conname = 'people_name_len' AND convalidated", Some("1")),
        ],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rename_column_then_drop_it() {
    run_case(&Case {
        name: "rename column then drop it",
        setup: USERS,
        yaml: "operations:
  - rename_column: {table: users, from: age, to: years}
  - drop_column: {table: users, column: years}
",
        old: &["INSERT INTO users (name, age) VALUES ('old', '3')"],
        new: &[
            ("INSERT INTO users (name) VALUES ('new')", None),
            ("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public_02_change' AND column_name IN ('age', 'years')", Some("0")),
        ],
        after: &[("SELECT count(*) FROM users", Some("502"))],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rename_column_then_change_its_type_and_nullability() {
    run_case(&Case {
        name: "rename column then alter its type, then NOT NULL",
        setup: USERS,
        yaml: "operations:
  - rename_column: {table: users, from: age, to: years}
  - alter_column:
      table: users
      column: years
      type: integer
      up: CAST(age AS integer)
      down: CAST(years AS text)
  - alter_column:
      table: users
      column: years
      nullable: false
      up: COALESCE(years, 0)
      down: years
",
        old: &[
            "INSERT INTO users (name, age) VALUES ('old', '33')",
            "INSERT INTO users (name, age) VALUES ('null age', NULL)",
        ],
        new: &[
            ("INSERT INTO users (name, years) VALUES ('new', 44)", None),
            ("SELECT sum(years) FROM users WHERE id <= 500", Some("125250")),
            ("SELECT years FROM users WHERE name = 'old'", Some("33")),
            ("SELECT years FROM users WHERE name = 'null age'", Some("0")),
        ],
        after: &[
            ("SELECT years FROM users WHERE name = 'new'", Some("44")),
            ("SELECT data_type || ' ' || is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'users' AND column_name = 'years'", Some("integer NO")),
        ],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_alter_columns_on_one_column_check_then_not_null() {
    run_case(&Case {
        name: "check then NOT NULL on the same column",
        setup: USERS,
        yaml: "operations:
  - alter_column:
      table: users
      column: email
      check: {name: email_has_at, constraint: \"email LIKE '%@%'\"}
      up: \"CASE WHEN email LIKE '%@%' THEN email ELSE email || '@fixed' END\"
      down: email
  - alter_column:
      table: users
      column: email
      nullable: false
      up: \"COALESCE(email, 'none@fixed')\"
      down: email
",
        old: &[
            "INSERT INTO users (name, email) VALUES ('bad', 'nope')",
            "INSERT INTO users (name, email) VALUES ('null', NULL)",
        ],
        new: &[
            ("SELECT email FROM users WHERE name = 'bad'", Some("nope@fixed")),
            ("SELECT email FROM users WHERE name = 'null'", Some("none@fixed")),
            ("INSERT INTO users (name, email) VALUES ('new', 'n@x')", None),
        ],
        after: &[
            ("SELECT count(*) FROM pg_constraint WHERE conname = 'email_has_at' AND convalidated", Some("1")),
            ("SELECT is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'users' AND column_name = 'email'", Some("NO")),
            ("SELECT count(*) FROM users", Some("503")),
        ],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn alter_column_rename_then_type_change() {
    run_case(&Case {
        name: "alter_column name, then alter_column type",
        setup: USERS,
        yaml: "operations:
  - alter_column: {table: users, column: age, name: years}
  - alter_column:
      table: users
      column: years
      type: bigint
      up: CAST(age AS bigint)
      down: CAST(years AS text)
",
        old: &["INSERT INTO users (name, age) VALUES ('old', '9')"],
        new: &[
            ("SELECT years FROM users WHERE name = 'old'", Some("9")),
            (
                "SELECT pg_typeof(years)::text FROM users LIMIT 1",
                Some("bigint"),
            ),
        ],
        after: &[("SELECT years FROM users WHERE name = 'old'", Some("9"))],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn drop_table_then_create_one_with_the_same_name() {
    run_case(&Case {
        name: "drop table, create a new one under its name",
        setup: USERS,
        yaml: "operations:
  - drop_table: {name: users}
  - create_table:
      name: users
      columns:
        - {name: id, type: bigint, pk: true}
        - {name: handle, type: text}
",
        old: &[
            "INSERT INTO users (name) VALUES ('old')",
            "SELECT count(*) FROM users WHERE name = 'old'",
        ],
        new: &[
            ("INSERT INTO users (id, handle) VALUES (1, 'h')", None),
            ("SELECT count(*) FROM users", Some("1")),
        ],
        after: &[
            ("SELECT handle FROM users", Some("h")),
            ("SELECT string_agg(conname, ',') FROM pg_constraint WHERE conrelid = 'public.users'::regclass", Some("users_pkey")),
            ("SELECT count(*) FROM pg_tables WHERE schemaname = 'zdm_archive' AND tablename LIKE '%users'", Some("1")),
        ],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn create_table_then_change_it_in_the_same_migration() {
    run_case(&Case {
        name: "create table, then add a column, rename one, index it",
        setup: "SELECT 1",
        yaml: "operations:
  - create_table:
      name: items
      columns:
        - {name: id, type: serial, pk: true}
        - {name: label, type: text}
  - add_column:
      table: items
      column: {name: price, type: numeric, default: \"0\"}
  - rename_column: {table: items, from: label, to: title}
  - create_index: {name: items_title_idx, table: items, columns: [title]}
  - rename_table: {from: items, to: products}
",
        old: &[],
        new: &[
            ("INSERT INTO products (title) VALUES ('a')", None),
            ("SELECT price FROM products", Some("0")),
        ],
        after: &[("SELECT title FROM products", Some("a"))],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn add_column_then_rename_and_constrain_it() {
    run_case(&Case {
        name: "add a column, rename it, make it unique",
        setup: USERS,
        yaml: "operations:
  - add_column:
      table: users
      column: {name: code, type: text, nullable: true}
  - rename_column: {table: users, from: code, to: ref}
  - create_constraint:
      name: users_ref_key
      table: users
      type: unique
      columns: [ref]
      up: {ref: ref}
      down: {ref: ref}
",
        old: &["INSERT INTO users (name) VALUES ('old')"],
        new: &[
            ("INSERT INTO users (name, ref) VALUES ('new', 'r1')", None),
            ("SELECT count(*) FROM users WHERE ref = 'r1'", Some("1")),
        ],
        after: &[
            ("SELECT ref FROM users WHERE name = 'new'", Some("r1")),
            (
                "SELECT count(*) FROM pg_constraint WHERE conname = 'users_ref_key'",
                Some("1"),
            ),
        ],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn drop_column_then_add_one_with_the_same_name() {
    run_case(&Case {
        name: "drop a column, add a new one under its name",
        setup: USERS,
        yaml: "operations:
  - drop_column: {table: users, column: age}
  - add_column:
      table: users
      column: {name: age, type: integer, nullable: true}
",
        old: &["INSERT INTO users (name, age) VALUES ('old', 'seven')"],
        new: &[
            ("INSERT INTO users (name, age) VALUES ('new', 7)", None),
            ("SELECT age FROM users WHERE name = 'new'", Some("7")),
            (
                "SELECT count(*) FROM users WHERE age IS NOT NULL",
                Some("1"),
            ),
        ],
        after: &[("SELECT age FROM users WHERE name = 'new'", Some("7"))],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_on_complete_is_reflected_in_the_version_schema() {
    let env = Env::new().await;
    let c = env.db.connect().await;
    let file = env.write(
        "02_change.yaml",
        "operations:
  - create_table:
      name: people
      columns:
        - {name: id, type: serial, pk: true}
        - {name: name, type: text}
  - sql:
      up: ALTER TABLE people ADD COLUMN age int; CREATE TABLE tags (id int PRIMARY KEY, label text)
      onComplete: true
",
    );
    let r = env.run(&["start", file.to_str().unwrap()]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let new = in_schema(&env, "public_02_change").await;
    new.batch_execute("INSERT INTO people (name) VALUES ('a')")
        .await
        .unwrap();
    assert!(
        new.batch_execute("INSERT INTO people (name, age) VALUES ('b', 1)")
            .await
            .is_err(),
        "the SQL runs at complete: no age before"
    );
    let r = env.run(&["complete"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    new.batch_execute(
        "INSERT INTO people (name, age) VALUES ('b', 1); INSERT INTO tags VALUES (1, 'x')",
    )
    .await
    .unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM public.people WHERE age = 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    assert_eq!(
        view_columns(&c, "public_02_change").await,
        [
            "people.id integer",
            "people.name text",
            "people.age integer",
            "tags.id integer",
            "tags.label text"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rename_table_then_change_a_column_with_a_unique_constraint() {
    run_case(&Case {
        name: "rename table, then change the type of a unique column",
        setup: "CREATE TABLE users (id serial PRIMARY KEY, code int UNIQUE, name text); \
                INSERT INTO users (code, name) SELECT g, 'u' || g FROM generate_series(1, 300) g",
        yaml: "operations:
  - rename_table: {from: users, to: people}
  - alter_column: {table: people, column: code, type: bigint, up: CAST(code AS bigint), down: CAST(code AS integer)}
",
        old: &["INSERT INTO users (code, name) VALUES (1000, 'old')"],
        new: &[
            ("INSERT INTO people (code, name) VALUES (2000, 'new')", None),
            ("SELECT count(*) FROM people WHERE code >= 1000", Some("2")),
        ],
        after: &[(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'public.people'::regclass AND conname = 'users_code_key' AND contype = 'u'",
            Some("1"),
        )],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn change_a_column_then_rename_it() {
    run_case(&Case {
        name: "alter a column's type, then rename it (down follows the rename)",
        setup: USERS,
        yaml: "operations:
  - alter_column: {table: users, column: age, type: integer, up: CAST(age AS integer), down: CAST(age AS text)}
  - rename_column: {table: users, from: age, to: years}
",
        old: &["INSERT INTO users (name, age) VALUES ('old', '12')"],
        new: &[
            ("INSERT INTO users (name, years) VALUES ('new', 34)", None),
            ("SELECT years FROM users WHERE name = 'old'", Some("12")),
        ],
        after: &[("SELECT years FROM users WHERE name = 'new'", Some("34"))],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rename_a_table_away_and_create_one_under_its_name() {
    run_case(&Case {
        name: "rename orders to orders_archive, create a new orders",
        setup: "CREATE TABLE orders (id serial PRIMARY KEY, total int); INSERT INTO orders (total) SELECT g FROM generate_series(1, 50) g",
        yaml: "operations:
  - rename_table: {from: orders, to: orders_archive}
  - create_table:
      name: orders
      columns:
        - {name: id, type: serial, pk: true}
        - {name: amount, type: numeric}
",
        old: &["INSERT INTO orders (total) VALUES (7)"],
        new: &[
            ("INSERT INTO orders (amount) VALUES (1.5)", None),
            ("SELECT count(*) FROM orders_archive", Some("51")),
        ],
        after: &[
            ("SELECT count(*) FROM orders_archive", Some("51")),
            ("SELECT amount FROM orders", Some("1.5")),
        ],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rename_a_table_then_reference_it_from_a_new_one() {
    run_case(&Case {
        name: "rename accounts to people, create orders referencing people(id)",
        setup: "CREATE TABLE accounts (id serial PRIMARY KEY, name text); INSERT INTO accounts (name) VALUES ('a'), ('b')",
        yaml: "operations:
  - rename_table: {from: accounts, to: people}
  - create_table:
      name: orders
      columns:
        - {name: id, type: serial, pk: true}
        - {name: person_id, type: int, references: {name: orders_person_fk, table: people, column: id}}
",
        old: &["INSERT INTO accounts (name) VALUES ('c')"],
        new: &[
            ("INSERT INTO orders (person_id) VALUES (1)", None),
            ("SELECT count(*) FROM orders JOIN people ON people.id = orders.person_id", Some("1")),
        ],
        after: &[(
            "SELECT confrelid::regclass::text FROM pg_constraint WHERE conname = 'orders_person_fk'",
            Some("people"),
        )],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn create_two_tables_with_a_key_between_them_then_rename_the_referenced_one() {
    run_case(&Case {
        name: "create items and item_tags → items, rename items to products",
        setup: "SELECT 1",
        yaml: "operations:
  - create_table:
      name: items
      columns:
        - {name: id, type: serial, pk: true}
  - create_table:
      name: item_tags
      columns:
        - {name: id, type: serial, pk: true}
        - {name: item_id, type: int, references: {name: item_tags_item_fk, table: items, column: id}}
  - rename_table: {from: items, to: products}
",
        old: &[],
        new: &[
            ("INSERT INTO products DEFAULT VALUES", None),
            ("INSERT INTO item_tags (item_id) VALUES (1)", None),
            ("SELECT count(*) FROM item_tags", Some("1")),
        ],
        after: &[(
            "SELECT confrelid::regclass::text FROM pg_constraint WHERE conname = 'item_tags_item_fk'",
            Some("products"),
        )],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_check_then_a_type_change_that_the_default_does_not_fit() {
    run_case(&Case {
        name: "check, then a type change the column's default does not fit (dropped, as pgroll)",
        setup: "CREATE TABLE t (id serial PRIMARY KEY, code text DEFAULT 'none'); \
                INSERT INTO t (code) SELECT g::text FROM generate_series(1, 100) g",
        yaml: "operations:
  - alter_column: {table: t, column: code, check: {name: code_set, constraint: code IS NOT NULL}, up: \"coalesce(code, '0')\", down: code}
  - alter_column: {table: t, column: code, type: integer, up: \"CASE WHEN code ~ '^[0-9]+$' THEN code::integer END\", down: CAST(code AS text)}
",
        old: &["INSERT INTO t (code) VALUES ('7')"],
        new: &[("SELECT sum(code) FROM t", Some("5057"))],
        after: &[("SELECT data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 't' AND column_name = 'code'", Some("integer"))],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn change_a_constrained_column_then_rename_and_drop_its_constraints() {
    run_case(&Case {
        name: "alter a column's type, then rename its check and drop its unique constraint",
        setup: "CREATE TABLE items (id serial PRIMARY KEY, qty int CONSTRAINT qty_positive CHECK (qty > 0) CONSTRAINT qty_key UNIQUE, name text); \
                INSERT INTO items (qty, name) SELECT g, 'i' || g FROM generate_series(1, 300) g",
        yaml: "operations:
  - alter_column: {table: items, column: qty, type: bigint, up: CAST(qty AS bigint), down: CAST(qty AS integer)}
  - rename_constraint: {table: items, from: qty_positive, to: qty_above_zero}
  - drop_constraint: {table: items, name: qty_key, up: qty, down: qty}
",
        old: &["INSERT INTO items (qty, name) VALUES (1000, 'old')"],
        new: &[
            ("INSERT INTO items (qty, name) VALUES (1001, 'new')", None),
            ("SELECT count(*) FROM items WHERE qty >= 1000", Some("2")),
        ],
        after: &[
            (
                "SELECT string_agg(conname || ' ' || contype::text, ',' ORDER BY conname) FROM pg_constraint WHERE conrelid = 'public.items'::regclass AND contype <> 'p'",
                Some("qty_above_zero c"),
            ),
            (
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'public.items'::regclass AND attname = 'qty'",
                Some("bigint"),
            ),
        ],
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rename_a_constraint_then_change_its_column() {
    run_case(&Case {
        name: "rename a check, then alter its column's type",
        setup: "CREATE TABLE items (id serial PRIMARY KEY, qty int CONSTRAINT qty_positive CHECK (qty > 0)); \
                INSERT INTO items (qty) SELECT g FROM generate_series(1, 300) g",
        yaml: "operations:
  - rename_constraint: {table: items, from: qty_positive, to: qty_above_zero}
  - alter_column: {table: items, column: qty, type: bigint, up: CAST(qty AS bigint), down: CAST(qty AS integer)}
",
        old: &["INSERT INTO items (qty) VALUES (1000)"],
        new: &[
            ("INSERT INTO items (qty) VALUES (2000)", None),
            ("SELECT count(*) FROM items WHERE qty >= 1000", Some("2")),
        ],
        after: &[(
            "SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint WHERE conrelid = 'public.items'::regclass AND contype = 'c'",
            Some("qty_above_zero"),
        )],
    })
    .await;
}
