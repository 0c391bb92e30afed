//! pgroll-format operation files: the raw SQL of `sql` operations is linted like a SQL file;
//! the other operations are replayed into the catalog (as equivalent SQL) and checked for the
//! hazards zdm's planner cannot make safe.

use crate::dialect::Options;
use crate::finding::{Finding, LineIndex, Severity};
use crate::rules::{Engine, RuleInfo};
use crate::schema::{pg_ident, Schema};
use zdm_core::operations::{Column, Operation, OperationsMigration};

pub(crate) static ALTER_TYPE_WITHOUT_UP_DOWN: RuleInfo = RuleInfo {
    id: "op-alter-type-without-up-down",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "alter_column changing `type` (or adding check/references, or nullable: false) without the `up`/`down` SQL it needs",
    why: "zdm changes such a column on a duplicate kept in step by `up` (old → new) and `down` (new → old). Without them existing rows cannot be converted and rows written by the old version cannot be mapped back.",
    versions: "",
    // Operation-file examples (YAML); tested in tests/api.rs, not as SQL.
    bad: "operations:\n  - alter_column:\n      table: items\n      column: code\n      type: integer",
    good: "operations:\n  - alter_column:\n      table: items\n      column: code\n      type: integer\n      up: CAST(code AS integer)\n      down: CAST(code AS varchar(10))",
    example_env: "",
};

fn table_sql(t: &str) -> String {
    t.split_once('.')
        .map(|(s, n)| format!("{}.{}", pg_ident(s), pg_ident(n)))
        .unwrap_or_else(|| pg_ident(t))
}

fn column_sql(c: &Column) -> String {
    let mut s = format!("{} {}", pg_ident(&c.name), c.data_type);
    if !c.nullable {
        s.push_str(" NOT NULL");
    }
    if c.pk {
        s.push_str(" PRIMARY KEY");
    }
    if c.unique {
        s.push_str(" UNIQUE");
    }
    if let Some(d) = &c.default {
        s.push_str(&format!(" DEFAULT {d}"));
    }
    if let Some(r) = &c.references {
        s.push_str(&format!(
            " REFERENCES {} ({})",
            table_sql(&r.table),
            pg_ident(&r.column)
        ));
    }
    s
}

fn cols_sql(cols: &[String]) -> String {
    cols.iter()
        .map(|c| pg_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Lints (and replays) one operations file. `raw` is the file's text, used to point findings
/// at the right line; it may be empty.
pub(crate) fn lint(
    path: &str,
    raw: &str,
    ops: &OperationsMigration,
    opts: &Options,
    schema: &mut Schema,
) -> Vec<Finding> {
    schema.begin_file(path);
    let lines = LineIndex::new(raw);
    let mut findings = Vec::new();
    for op in &ops.operations {
        let replay = match op {
            Operation::CreateTable(t) => Some(format!(
                "CREATE TABLE {} ({});",
                table_sql(&t.name),
                t.columns
                    .iter()
                    .map(column_sql)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Operation::AddColumn(a) => Some(format!(
                "ALTER TABLE {} ADD COLUMN {};",
                table_sql(&a.table),
                column_sql(&a.column)
            )),
            Operation::DropColumn(d) => Some(format!(
                "ALTER TABLE {} DROP COLUMN {};",
                table_sql(&d.table),
                pg_ident(&d.column)
            )),
            Operation::RenameColumn(r) => Some(format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {};",
                table_sql(&r.table),
                pg_ident(&r.from),
                pg_ident(&r.to)
            )),
            Operation::RenameTable(r) => Some(format!(
                "ALTER TABLE {} RENAME TO {};",
                table_sql(&r.from),
                pg_ident(&r.to)
            )),
            Operation::DropTable(d) => Some(format!("DROP TABLE {};", table_sql(&d.name))),
            Operation::CreateIndex(i) => Some(format!(
                "CREATE {}INDEX {} ON {} ({}){};",
                if i.unique { "UNIQUE " } else { "" },
                pg_ident(&i.name),
                table_sql(&i.table),
                i.columns
                    .iter()
                    .map(|c| pg_ident(c.column()))
                    .collect::<Vec<_>>()
                    .join(", "),
                i.predicate
                    .as_ref()
                    .map(|p| format!(" WHERE {p}"))
                    .unwrap_or_default()
            )),
            Operation::DropIndex(d) => Some(format!("DROP INDEX {};", table_sql(&d.name))),
            Operation::CreateConstraint(c) => {
                let body = match c.constraint_type.as_str() {
                    "unique" => Some(format!("UNIQUE ({})", cols_sql(&c.columns))),
                    "primary_key" => Some(format!("PRIMARY KEY ({})", cols_sql(&c.columns))),
                    "check" => c.check.as_ref().map(|e| format!("CHECK ({e})")),
                    "foreign_key" => c.references.as_ref().map(|r| {
                        format!(
                            "FOREIGN KEY ({}) REFERENCES {} ({})",
                            cols_sql(&c.columns),
                            table_sql(&r.table),
                            cols_sql(&r.columns)
                        )
                    }),
                    _ => None,
                };
                body.map(|b| {
                    format!(
                        "ALTER TABLE {} ADD CONSTRAINT {} {b};",
                        table_sql(&c.table),
                        pg_ident(&c.name)
                    )
                })
            }
            Operation::AlterColumn(a) => {
                let needs_up = a.data_type.is_some()
                    || a.check.is_some()
                    || a.references.is_some()
                    || a.nullable == Some(false);
                let needs_down = a.data_type.is_some()
                    || a.check.is_some()
                    || a.references.is_some()
                    || a.nullable == Some(true);
                let missing: Vec<&str> = [
                    ("up", needs_up && a.up.is_none()),
                    ("down", needs_down && a.down.is_none()),
                ]
                .iter()
                .filter(|(_, m)| *m)
                .map(|(n, _)| *n)
                .collect();
                if !missing.is_empty() && opts.rule_enabled(ALTER_TYPE_WITHOUT_UP_DOWN.id, true) {
                    let at = raw
                        .find(&format!("column: {}", a.column))
                        .or_else(|| raw.find(&a.column))
                        .unwrap_or(0);
                    let (line, column) = lines.line_col(raw, at);
                    findings.push(Finding {
                        rule: ALTER_TYPE_WITHOUT_UP_DOWN.id,
                        severity: ALTER_TYPE_WITHOUT_UP_DOWN.severity,
                        message: format!("alter_column on {}.{} has no `{}`: existing rows / old-version writes cannot be converted", a.table, a.column, missing.join("` and `")),
                        help: format!("Add the conversion SQL, e.g. for a type change:\n  up: CAST({} AS <new type>)\n  down: CAST({} AS <old type>)", pg_ident(&a.column), pg_ident(&a.column)),
                        file: path.to_string(),
                        span: at..at,
                        line,
                        column,
                        locks: None,
                    });
                }
                let mut changes = Vec::new();
                if let Some(t) = &a.data_type {
                    changes.push(format!("ALTER COLUMN {} TYPE {t}", pg_ident(&a.column)));
                }
                match a.nullable {
                    Some(false) => {
                        changes.push(format!("ALTER COLUMN {} SET NOT NULL", pg_ident(&a.column)))
                    }
                    Some(true) => changes.push(format!(
                        "ALTER COLUMN {} DROP NOT NULL",
                        pg_ident(&a.column)
                    )),
                    None => {}
                }
                if let Some(to) = &a.name {
                    changes.push(format!(
                        "RENAME COLUMN {} TO {}",
                        pg_ident(&a.column),
                        pg_ident(to)
                    ));
                }
                (!changes.is_empty()).then(|| {
                    format!(
                        "ALTER TABLE {} {};",
                        table_sql(&a.table),
                        changes.join(", ")
                    )
                })
            }
            Operation::Sql(s) => {
                let mut o = opts.clone();
                o.in_transaction = true;
                let sql_findings =
                    crate::lint_pg(path, &s.up, &o, schema, true, crate::Runner::OperationSql);
                // Point at the SQL inside the operations file: same lines, shifted.
                let first =
                    s.up.lines()
                        .find(|l| !l.trim().is_empty())
                        .map(str::trim)
                        .unwrap_or("");
                let base = if first.is_empty() {
                    None
                } else {
                    raw.find(first)
                };
                let sql_lines = LineIndex::new(&s.up);
                let lead = s.up.len() - s.up.trim_start().len();
                let first_sql_line = sql_lines.line_of(lead);
                for mut f in sql_findings {
                    if let Some(b) = base {
                        let (bl, bc) = lines.line_col(raw, b);
                        let rel = f.line.saturating_sub(first_sql_line + 1);
                        f.line = bl + rel;
                        if rel == 0 {
                            f.column += bc - 1;
                        }
                        f.span = b..b + first.len();
                    }
                    findings.push(f);
                }
                None
            }
            _ => None,
        };
        if let Some(sql) = replay {
            let _ = crate::lint_pg(path, &sql, opts, schema, false, crate::Runner::SqlFile);
        }
    }
    findings
}
