//! How a column's values are carried into PostgreSQL: one [`ValueKind`] per target type family.
//! A cast file names a PostgreSQL type; its kind says how source values are converted to it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    Bool,
    Int2,
    Int4,
    Int8,
    Numeric,
    Float4,
    Float8,
    Text,
    Bytea,
    Date,
    Timestamp,
    Timestamptz,
    Time,
    Interval,
    Jsonb,
    TextArray,
    VarBit,
    Uuid,
    Inet,
}

/// The kind for a PostgreSQL type written in a cast file or rule (`numeric(20,0)`, `text[]`,
/// `timestamp(3) with time zone`...). `None` for a type zdm cannot write.
pub fn kind_of_pg_type(pg_type: &str) -> Option<ValueKind> {
    let t = pg_type.trim().to_ascii_lowercase();
    if t.ends_with("[]") {
        let elem = kind_of_pg_type(&t[..t.len() - 2])?;
        return (elem == ValueKind::Text).then_some(ValueKind::TextArray);
    }
    let base = t.split('(').next().unwrap_or("").trim();
    let with_tz = t.contains("with time zone") && !t.contains("without time zone");
    Some(match base {
        "boolean" | "bool" => ValueKind::Bool,
        "smallint" | "int2" => ValueKind::Int2,
        "integer" | "int" | "int4" => ValueKind::Int4,
        "bigint" | "int8" => ValueKind::Int8,
        "numeric" | "decimal" => ValueKind::Numeric,
        "real" | "float4" => ValueKind::Float4,
        "double precision" | "float8" => ValueKind::Float8,
        "text" | "varchar" | "character varying" | "citext" => ValueKind::Text,
        "inet" => ValueKind::Inet,
        "bytea" => ValueKind::Bytea,
        "date" => ValueKind::Date,
        "timestamptz" => ValueKind::Timestamptz,
        "timestamp" if with_tz => ValueKind::Timestamptz,
        "timestamp" => ValueKind::Timestamp,
        "time" if !with_tz => ValueKind::Time,
        "interval" => ValueKind::Interval,
        "jsonb" | "json" => ValueKind::Jsonb,
        "bit varying" | "varbit" => ValueKind::VarBit,
        "uuid" => ValueKind::Uuid,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_types_have_kinds() {
        assert_eq!(kind_of_pg_type("numeric(20,0)"), Some(ValueKind::Numeric));
        assert_eq!(kind_of_pg_type("text[]"), Some(ValueKind::TextArray));
        assert_eq!(
            kind_of_pg_type("timestamp(3) with time zone"),
            Some(ValueKind::Timestamptz)
        );
        assert_eq!(kind_of_pg_type("timestamp(6)"), Some(ValueKind::Timestamp));
        assert_eq!(kind_of_pg_type("interval"), Some(ValueKind::Interval));
        assert_eq!(kind_of_pg_type("point"), None);
    }
}
