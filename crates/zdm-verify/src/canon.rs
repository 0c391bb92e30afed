//! Canonical forms: for each column, an SQL expression per engine that renders a value as the
//! same text on MySQL/MariaDB and PostgreSQL whenever the two values are equal under the move's
//! conversion rules (see the table in the README). Hashes are taken over these texts, so a
//! difference in rendering can never pass for a difference in data, nor hide one.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Engine {
    Mysql,
    Postgres,
}

/// A column's type as one engine's catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColType {
    pub engine: Engine,
    /// Lower-case base type (`int`, `decimal`, `character varying`, `timestamp with time zone`...).
    pub data_type: String,
    pub scale: Option<u64>,
    /// BIT(n) / bit varying(n) width.
    pub bits: Option<u64>,
    /// MariaDB JSON (LONGTEXT + json_valid check) or MySQL JSON.
    pub json: bool,
    /// MySQL column character set (text that is UTF-8 already needs no conversion).
    #[serde(default)]
    pub charset: Option<String>,
    /// Declared NOT NULL.
    #[serde(default)]
    pub not_null: bool,
    /// MySQL DATETIME / TIMESTAMP / TIME fractional-second digits.
    #[serde(default)]
    pub fsp: Option<u64>,
}

/// The comparison form two columns share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    Bool,
    Number,
    Float,
    Text,
    Bytes,
    Geometry,
    Date,
    Timestamp,
    Micros,
    Json,
    List,
    Bits,
    Uuid,
    Inet,
    /// PostgreSQL on both sides, the same type: the type's own text output (zdm's sessions fix
    /// every setting it depends on), the cheapest exact form.
    Native,
}

pub fn natural_form(t: &ColType) -> Option<Form> {
    if t.json {
        return Some(Form::Json);
    }
    let d = t.data_type.as_str();
    Some(match (t.engine, d) {
        (_, "boolean") => Form::Bool,
        (
            Engine::Mysql,
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "decimal"
            | "numeric" | "year",
        ) => Form::Number,
        (Engine::Postgres, "smallint" | "integer" | "bigint" | "numeric") => Form::Number,
        (_, "float" | "double" | "real" | "double precision") => Form::Float,
        (
            Engine::Mysql,
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum",
        ) => Form::Text,
        (Engine::Postgres, "character varying" | "character" | "text" | "citext" | "name") => {
            Form::Text
        }
        (
            Engine::Mysql,
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob",
        ) => Form::Bytes,
        (Engine::Postgres, "bytea") => Form::Bytes,
        (
            Engine::Mysql,
            "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
            | "multipolygon" | "geometrycollection",
        ) => Form::Geometry,
        (_, "date") => Form::Date,
        (Engine::Mysql, "datetime" | "timestamp") => Form::Timestamp,
        (Engine::Postgres, "timestamp without time zone" | "timestamp with time zone") => {
            Form::Timestamp
        }
        (Engine::Mysql, "time") => Form::Micros,
        (Engine::Postgres, "time without time zone" | "interval") => Form::Micros,
        (_, "json" | "jsonb") => Form::Json,
        (Engine::Mysql, "set") => Form::List,
        (Engine::Postgres, "array") => Form::List,
        (Engine::Mysql, "bit") if t.bits == Some(1) => Form::Bool,
        (Engine::Mysql, "bit") => Form::Bits,
        (Engine::Postgres, "bit" | "bit varying") => Form::Bits,
        (_, "uuid") => Form::Uuid,
        (Engine::Mysql, "inet4" | "inet6") | (Engine::Postgres, "inet") => Form::Inet,
        _ => return None,
    })
}

/// The form two columns are compared in, or why they cannot be.
pub fn pair_form(a: &ColType, b: &ColType) -> Result<Form, String> {
    let (fa, fb) = (natural_form(a), natural_form(b));
    // `json` keeps its input text (whitespace, key order): it needs the canonical JSON form.
    if a.engine == Engine::Postgres
        && b.engine == Engine::Postgres
        && a.data_type == b.data_type
        && a.scale == b.scale
        && a.bits == b.bits
        && fa.is_some()
        && fa != Some(Form::Json)
    {
        return Ok(Form::Native);
    }
    match (fa, fb) {
        (Some(x), Some(y)) if x == y => Ok(x),
        // tinyint(1) / bit(1) moved as boolean.
        (Some(Form::Bool), Some(Form::Number)) | (Some(Form::Number), Some(Form::Bool)) => {
            Ok(Form::Bool)
        }
        // MySQL SET moved as text[]; enum as text.
        (Some(Form::List), Some(Form::Text)) | (Some(Form::Text), Some(Form::List)) => {
            Ok(Form::List)
        }
        (Some(Form::Geometry), Some(Form::Bytes)) | (Some(Form::Bytes), Some(Form::Geometry)) => {
            Ok(Form::Geometry)
        }
        // JSON kept as text on one side.
        (Some(Form::Json), Some(Form::Text)) | (Some(Form::Text), Some(Form::Json)) => {
            Ok(Form::Json)
        }
        _ => Err(format!(
            "{} and {} have no common form",
            a.data_type, b.data_type
        )),
    }
}

/// The canonical-text expression for column `c` (already quoted) of type `t` in form `form`.
/// NULL stays NULL. JSON is canonicalised outside the database ([`canonical_json`]).
/// `same_scale`: both sides keep the same decimal scale, so no normalising is needed.
pub fn expr(form: Form, t: &ColType, c: &str, same_scale: bool) -> String {
    use Engine::*;
    let zero_date_guard = |e: String| match t.engine {
        Mysql => format!("IF(MONTH({c}) = 0 OR DAY({c}) = 0, NULL, {e})"),
        Postgres => e,
    };
    match (form, t.engine) {
        (Form::Bool, Mysql) => format!("IF({c} <> 0, '1', '0')"),
        (Form::Bool, Postgres) if t.data_type == "boolean" => {
            format!("CASE WHEN {c} THEN '1' ELSE '0' END")
        }
        (Form::Bool, Postgres) => format!("CASE WHEN {c} <> 0 THEN '1' ELSE '0' END"),
        (Form::Number, Mysql) if t.scale.unwrap_or(0) > 0 && !same_scale => {
            // Scale-normalised: 1.50 and 1.5 are the same number.
            format!("TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST({c} AS CHAR)))")
        }
        // YEAR prints as four digits ('0000'); its number is what the move keeps.
        (Form::Number, Mysql) if t.data_type == "year" => format!("CAST({c} + 0 AS CHAR)"),
        // Integers print the same either way; CONCAT_WS converts them for less than CAST costs.
        (Form::Number, Mysql)
            if matches!(
                t.data_type.as_str(),
                "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint"
            ) =>
        {
            c.to_string()
        }
        // A DECIMAL prints the same in CONCAT_WS as through CAST, which costs a call per row.
        (Form::Number, Mysql) if t.data_type == "decimal" => c.to_string(),
        (Form::Number, Mysql) => format!("CAST({c} AS CHAR)"),
        (Form::Number, Postgres) if t.data_type == "numeric" && !same_scale => {
            format!("trim_scale({c})::text")
        }
        (Form::Number, Postgres) => format!("{c}::text"),
        // Both print a double in its shortest round-trip form; FLOAT/real widen exactly.
        (Form::Float, Mysql) => format!("CAST(CAST({c} AS DOUBLE) AS CHAR)"),
        (Form::Float, Postgres) => format!("{c}::float8::text"),
        (Form::Text, Mysql)
            if matches!(
                t.charset.as_deref(),
                Some("utf8mb4" | "utf8mb3" | "utf8" | "ascii")
            ) =>
        {
            c.to_string()
        }
        (Form::Text, Mysql) => format!("CONVERT({c} USING utf8mb4)"),
        (Form::Text, Postgres) => format!("{c}::text"),
        (Form::Bytes, Mysql) => format!("LOWER(HEX({c}))"),
        (Form::Bytes | Form::Geometry, Postgres) => format!("encode({c}, 'hex')"),
        (Form::Geometry, Mysql) => format!("LOWER(HEX(ST_AsBinary({c})))"),
        // CAST prints a DATE / DATETIME(6) in exactly the canonical shape, at a fraction of
        // DATE_FORMAT's cost.
        (Form::Date, Mysql) => zero_date_guard(format!("CAST(CAST({c} AS DATE) AS CHAR)")),
        (Form::Date, Postgres) => format!("to_char({c}, 'YYYY-MM-DD')"),
        // MySQL sessions run with time_zone '+00:00': TIMESTAMP reads as UTC.
        // Six fractional digits print as they are; fewer are padded to six by the cast.
        (Form::Timestamp, Mysql) if t.fsp == Some(6) => zero_date_guard(c.to_string()),
        (Form::Timestamp, Mysql) => {
            zero_date_guard(format!("CAST(CAST({c} AS DATETIME(6)) AS CHAR)"))
        }
        (Form::Timestamp, Postgres) if t.data_type == "timestamp with time zone" => {
            format!("to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')")
        }
        (Form::Timestamp, Postgres) => format!("to_char({c}, 'YYYY-MM-DD HH24:MI:SS.US')"),
        (Form::Micros, Mysql) => {
            format!("CAST(CAST(TIME_TO_SEC({c}) * 1000000 AS DECIMAL(24,0)) AS CHAR)")
        }
        (Form::Micros, Postgres) => {
            format!("(extract(epoch FROM {c}::interval) * 1000000)::numeric(24,0)::text")
        }
        (Form::Json, Mysql) => format!("CONVERT({c} USING utf8mb4)"),
        (Form::Json, Postgres) => format!("{c}::text"),
        (Form::List, Mysql) => format!("CAST({c} AS CHAR)"),
        (Form::List, Postgres) if t.data_type == "array" => format!("array_to_string({c}, ',')"),
        (Form::List, Postgres) => format!("{c}::text"),
        (Form::Bits, Mysql) => format!("LPAD(BIN({c}), {}, '0')", t.bits.unwrap_or(1)),
        (Form::Bits, Postgres) => format!("{c}::text"),
        (Form::Uuid, Mysql) => format!("LOWER(CAST({c} AS CHAR))"),
        (Form::Uuid, Postgres) => format!("{c}::text"),
        (Form::Inet, Mysql) => format!("CAST({c} AS CHAR)"),
        (Form::Inet, Postgres) => format!("host({c})"),
        (Form::Native, _) => format!("{c}::text"),
    }
}

/// PostgreSQL's hash function (of its hash opclass) per type, for columns compared in their
/// own form (name, function, cast to its argument type): hashing the value itself skips
/// printing it as text, the bulk of a row's cost.
/// Each hashes equal values (as the type defines equality) alike; anything else hashes its text.
const PG_TYPE_HASHES: &[(&str, &str, &str)] = &[
    ("smallint", "hashint2extended", ""),
    ("integer", "hashint4extended", ""),
    ("bigint", "hashint8extended", ""),
    ("numeric", "hash_numeric_extended", ""),
    ("real", "hashfloat4extended", ""),
    ("double precision", "hashfloat8extended", ""),
    ("timestamp without time zone", "timestamp_hash_extended", ""),
    // The same 8 bytes: the session runs in UTC, so the cast keeps the instant's value.
    (
        "timestamp with time zone",
        "timestamp_hash_extended",
        "::timestamp",
    ),
    ("time without time zone", "time_hash_extended", ""),
    ("uuid", "uuid_hash_extended", ""),
    ("inet", "hashinetextended", ""),
];

/// The 64-bit hash of column `c` (quoted; `canonical` its canonical expression) at position
/// `i` of a PostgreSQL↔PostgreSQL row: the position seeds it, so equal values in different
/// columns differ, and NULL has a value of its own. A row's hash XORs its columns'.
pub fn pg_column_hash(form: Form, t: &ColType, c: &str, canonical: &str, i: usize) -> String {
    let seed = i as i64 * 2 + 1;
    let typed = PG_TYPE_HASHES
        .iter()
        .find(|(ty, _, _)| *ty == t.data_type)
        .map(|(_, f, cast)| (*f, *cast));
    let h = match (form, typed) {
        (Form::Native, Some((f, cast))) => format!("{f}({c}{cast}, {seed}::int8)"),
        // Text hashes as bytes: a nondeterministic collation must not make 'a' equal 'A'.
        _ => format!("hashtextextended(({canonical}) COLLATE \"C\", {seed}::int8)"),
    };
    format!("coalesce({h}, {}::int8)", -seed)
}

/// Separates the values of a row text (ASCII unit separator); NULL is [`NULL_MARK`], so NULL
/// and '' differ.
pub const END: char = '\u{1f}';
pub const NULL_MARK: char = '\u{1e}';

/// The row text of canonical value expressions: one `concat_ws` with NULLs marked (each value
/// evaluated once).
pub fn row_text(engine: Engine, values: &[String]) -> String {
    row_text_of(engine, values, &vec![false; values.len()])
}

/// [`row_text`] where `never_null[i]` says value `i` cannot be NULL (its column is NOT NULL and
/// its canonical form keeps non-NULL values non-NULL): such values skip the NULL mark, a
/// function call less per value. Both sides stay comparable: a value never NULL on one side is
/// its text there; on the other side a NULL is the mark, which differs from any text.
pub fn row_text_of(engine: Engine, values: &[String], never_null: &[bool]) -> String {
    if values.is_empty() {
        return "''".into();
    }
    let v: Vec<String> = values
        .iter()
        .zip(never_null)
        .map(|(e, nn)| match (engine, nn) {
            (_, true) => e.clone(),
            (Engine::Mysql, false) => format!("COALESCE({e}, CHAR(30 USING utf8mb4))"),
            (Engine::Postgres, false) => format!("coalesce({e}, E'\\x1e')"),
        })
        .collect();
    match engine {
        Engine::Mysql => format!("CONCAT_WS(CHAR(31 USING utf8mb4), {})", v.join(", ")),
        Engine::Postgres => format!("concat_ws(E'\\x1f', {})", v.join(", ")),
    }
}

/// Whether the canonical form of a NOT NULL column stays non-NULL (MySQL zero dates become NULL).
pub fn never_null(form: Form, t: &ColType) -> bool {
    t.not_null && !(t.engine == Engine::Mysql && matches!(form, Form::Date | Form::Timestamp))
}

/// JSON documents that are semantically equal render the same: keys sorted, no whitespace,
/// numbers in one form (integers exact, others as their shortest double).
pub fn canonical_json(text: &str) -> String {
    fn write(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String((*k).clone()).to_string());
                    out.push(':');
                    write(&m[*k], out);
                }
                out.push('}');
            }
            serde_json::Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(x, out);
                }
                out.push(']');
            }
            serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => out.push_str(&i.to_string()),
                (_, Some(u), _) => out.push_str(&u.to_string()),
                (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                    out.push_str(&(f as i64).to_string())
                }
                (_, _, Some(f)) => out.push_str(&f.to_string()),
                _ => out.push_str(&n.to_string()),
            },
            other => out.push_str(&other.to_string()),
        }
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => {
            let mut out = String::new();
            write(&v, &mut out);
            out
        }
        // Not JSON: compared as it is.
        Err(_) => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_canonical() {
        assert_eq!(
            canonical_json(r#"{"b": 1.50, "a": [1, 2.0, {"y":null,"x":"é"}]}"#),
            r#"{"a":[1,2,{"x":"é","y":null}],"b":1.5}"#
        );
        assert_eq!(
            canonical_json(r#"{"k":12345678901234567890}"#),
            canonical_json(r#"{ "k" : 12345678901234567890 }"#)
        );
    }

    #[test]
    fn forms_pair_across_engines() {
        let my = |d: &str| ColType {
            charset: None,
            engine: Engine::Mysql,
            data_type: d.into(),
            scale: None,
            bits: None,
            json: false,
            not_null: false,
            fsp: None,
        };
        let pg = |d: &str| ColType {
            charset: None,
            engine: Engine::Postgres,
            data_type: d.into(),
            scale: None,
            bits: None,
            json: false,
            not_null: false,
            fsp: None,
        };
        assert_eq!(pair_form(&my("tinyint"), &pg("boolean")), Ok(Form::Bool));
        assert_eq!(pair_form(&my("set"), &pg("array")), Ok(Form::List));
        assert_eq!(
            pair_form(&my("datetime"), &pg("timestamp without time zone")),
            Ok(Form::Timestamp)
        );
        assert_eq!(pair_form(&my("bigint"), &pg("numeric")), Ok(Form::Number));
        assert!(pair_form(&my("date"), &pg("integer")).is_err());
    }
}
