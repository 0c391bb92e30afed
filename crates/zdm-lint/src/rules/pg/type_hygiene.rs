use crate::finding::Severity;
use crate::pg::model::{ActionKind, Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::TypeName;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "type-hygiene",
    engine: Engine::Postgres,
    severity: Severity::Info,
    default_enabled: true,
    summary: "column types that tend to need a risky migration later: int/smallint, serial, char(n), varchar(n), timestamp, json",
    why: "int/smallint keys run out (and widening them rewrites the table); serial has ownership and permission quirks; char(n) pads; changing varchar(n) limits needs DDL where a CHECK would do; timestamp loses the time zone; json is slower and not comparable. Each one is cheap to pick right now and expensive to change later.",
    versions: "",
    bad: "CREATE TABLE t (id serial PRIMARY KEY, created timestamp, payload json);",
    good: "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, created timestamptz, payload jsonb);",
    example_env: "",
};

fn advice(t: &TypeName) -> Option<(&'static str, &'static str)> {
    Some(match t.name.as_str() {
        "int4" => ("a 32-bit integer may overflow; widening it later rewrites the table", "bigint"),
        "int2" => ("a 16-bit integer may overflow; widening it later rewrites the table", "bigint"),
        "serial2" => ("serial types have sequence ownership/permission quirks, and smallserial is a 16-bit integer", "bigint GENERATED ALWAYS AS IDENTITY"),
        "serial4" => ("serial types have sequence ownership/permission quirks, and serial is a 32-bit integer", "bigint GENERATED ALWAYS AS IDENTITY"),
        "serial8" => ("serial types have sequence ownership/permission quirks", "bigint GENERATED ALWAYS AS IDENTITY"),
        "bpchar" => ("char(n) pads with spaces and is no faster", "text (with a CHECK on length if needed)"),
        "varchar" if !t.args.is_empty() => ("changing the length limit later needs DDL", "text with CHECK (char_length(col) <= n)"),
        "timestamp" => ("timestamp without time zone loses the offset", "timestamptz"),
        "timetz" => ("time with time zone is rarely meaningful", "timestamptz or time"),
        "json" => ("json is re-parsed on every access and has no equality operator", "jsonb"),
        "money" => ("money depends on lc_monetary", "numeric"),
        _ => return None,
    })
}

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let mut cols: Vec<(std::ops::Range<usize>, String, TypeName)> = Vec::new();
    match &st.kind {
        Kind::CreateTable { columns, .. } => cols.extend(
            columns
                .iter()
                .filter_map(|c| c.ty.clone().map(|t| (c.range.clone(), c.name.clone(), t))),
        ),
        Kind::AlterTable { actions, .. } => {
            for a in actions {
                match &a.kind {
                    ActionKind::AddColumn(c) => {
                        cols.extend(c.ty.clone().map(|t| (a.range.clone(), c.name.clone(), t)))
                    }
                    ActionKind::AlterType { column, ty, .. } => {
                        cols.push((a.range.clone(), column.clone(), ty.clone()))
                    }
                    _ => {}
                }
            }
        }
        _ => return,
    }
    for (range, name, ty) in cols {
        let Some((why, instead)) = advice(&ty) else {
            continue;
        };
        cx.out.report(
            &RULE,
            range,
            format!("column {name} is {}: {why}", ty.text),
            format!("Prefer {instead}."),
            None,
        );
    }
}
