//! The default MySQL/MariaDB → PostgreSQL type rules, as data. The first rule whose `when`
//! matches a source column decides its PostgreSQL type; a cast file's rules are tried before
//! these. `zdm move plan` prints which rule decided each column.

use super::kind::ValueKind;
use zdm_mysql::catalog::Column;

/// What a rule matches on a source column.
#[derive(Debug, Clone, Copy)]
pub struct When {
    /// `DATA_TYPE` names (lower case).
    pub data_types: &'static [&'static str],
    /// `Some(true)`: only UNSIGNED columns; `Some(false)`: only signed ones.
    pub unsigned: Option<bool>,
    /// Only columns whose display width / length is exactly this (`tinyint(1)`, `bit(1)`).
    pub width: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub name: &'static str,
    pub when: When,
    /// PostgreSQL type; `{len}`, `{p}`, `{s}`, `{fsp}` and `{bits}` are filled from the column.
    pub to: &'static str,
    pub kind: ValueKind,
}

const fn rule(
    name: &'static str,
    data_types: &'static [&'static str],
    unsigned: Option<bool>,
    width: Option<u64>,
    to: &'static str,
    kind: ValueKind,
) -> Rule {
    Rule {
        name,
        when: When {
            data_types,
            unsigned,
            width,
        },
        to,
        kind,
    }
}

use ValueKind as K;

pub const GEOMETRY_TYPES: &[&str] = &[
    "geometry",
    "point",
    "linestring",
    "polygon",
    "multipoint",
    "multilinestring",
    "multipolygon",
    "geometrycollection",
];

/// The defaults, in the order they are tried.
pub const DEFAULT_RULES: &[Rule] = &[
    rule(
        "tinyint(1) is a boolean",
        &["tinyint"],
        None,
        Some(1),
        "boolean",
        K::Bool,
    ),
    rule("tinyint", &["tinyint"], None, None, "smallint", K::Int2),
    rule(
        "smallint",
        &["smallint"],
        Some(false),
        None,
        "smallint",
        K::Int2,
    ),
    rule(
        "smallint unsigned",
        &["smallint"],
        Some(true),
        None,
        "integer",
        K::Int4,
    ),
    rule("mediumint", &["mediumint"], None, None, "integer", K::Int4),
    rule(
        "int",
        &["int", "integer"],
        Some(false),
        None,
        "integer",
        K::Int4,
    ),
    rule(
        "int unsigned",
        &["int", "integer"],
        Some(true),
        None,
        "bigint",
        K::Int8,
    ),
    rule("bigint", &["bigint"], Some(false), None, "bigint", K::Int8),
    rule(
        "bigint unsigned",
        &["bigint"],
        Some(true),
        None,
        "numeric(20,0)",
        K::Numeric,
    ),
    rule(
        "decimal",
        &["decimal", "numeric"],
        None,
        None,
        "numeric({p},{s})",
        K::Numeric,
    ),
    rule("float", &["float"], None, None, "real", K::Float4),
    rule(
        "double",
        &["double", "real"],
        None,
        None,
        "double precision",
        K::Float8,
    ),
    rule(
        "bit(1) is a boolean",
        &["bit"],
        None,
        Some(1),
        "boolean",
        K::Bool,
    ),
    rule(
        "bit(n)",
        &["bit"],
        None,
        None,
        "bit varying({bits})",
        K::VarBit,
    ),
    rule(
        "char/varchar",
        &["char", "varchar"],
        None,
        None,
        "varchar({len})",
        K::Text,
    ),
    rule(
        "text",
        &["tinytext", "text", "mediumtext", "longtext"],
        None,
        None,
        "text",
        K::Text,
    ),
    rule(
        "binary/blob",
        &[
            "binary",
            "varbinary",
            "tinyblob",
            "blob",
            "mediumblob",
            "longblob",
        ],
        None,
        None,
        "bytea",
        K::Bytea,
    ),
    rule("date", &["date"], None, None, "date", K::Date),
    rule(
        "datetime (wall clock)",
        &["datetime"],
        None,
        None,
        "timestamp({fsp})",
        K::Timestamp,
    ),
    rule(
        "timestamp (UTC instant)",
        &["timestamp"],
        None,
        None,
        "timestamptz({fsp})",
        K::Timestamptz,
    ),
    rule("time", &["time"], None, None, "time({fsp})", K::Time),
    rule("year", &["year"], None, None, "smallint", K::Int2),
    rule(
        "enum (text + CHECK)",
        &["enum"],
        None,
        None,
        "text",
        K::Text,
    ),
    rule(
        "set (text[] + CHECK)",
        &["set"],
        None,
        None,
        "text[]",
        K::TextArray,
    ),
    rule("json", &["json"], None, None, "jsonb", K::Jsonb),
    rule(
        "geometry (WKB)",
        GEOMETRY_TYPES,
        None,
        None,
        "bytea",
        K::Bytea,
    ),
    rule("uuid", &["uuid"], None, None, "uuid", K::Uuid),
    rule(
        "inet4/inet6",
        &["inet4", "inet6"],
        None,
        None,
        "inet",
        K::Inet,
    ),
];

/// The display width or length a rule's `width` compares: `tinyint(1)` → 1, `bit(1)` → 1.
pub fn width_of(col: &Column) -> Option<u64> {
    match col.data_type.as_str() {
        "bit" => col.numeric_precision,
        _ => {
            let open = col.column_type.find('(')?;
            let close = col.column_type[open..].find(')')? + open;
            col.column_type[open + 1..close].trim().parse().ok()
        }
    }
}

impl When {
    pub fn matches(&self, col: &Column) -> bool {
        let data_type = if col.is_json {
            "json"
        } else {
            col.data_type.as_str()
        };
        self.data_types.contains(&data_type)
            && self.unsigned.is_none_or(|u| u == col.unsigned)
            && self.width.is_none_or(|w| width_of(col) == Some(w))
    }
}

/// Fills `{len}`, `{p}`, `{s}`, `{fsp}`, `{bits}` from the column; an empty `(…)` is dropped
/// (e.g. `timestamp({fsp})` with no precision known stays `timestamp`).
pub fn fill(template: &str, col: &Column) -> String {
    let fsp = col.datetime_precision.unwrap_or(0);
    let mut out = template
        .replace(
            "{len}",
            &col.char_max_length
                .map(|n| n.to_string())
                .unwrap_or_default(),
        )
        .replace("{p}", &col.numeric_precision.unwrap_or(10).to_string())
        .replace("{s}", &col.numeric_scale.unwrap_or(0).to_string())
        .replace("{fsp}", &fsp.to_string())
        .replace("{bits}", &col.numeric_precision.unwrap_or(1).to_string());
    out = out.replace("()", "");
    out
}
