//! Key values as stored in chunk bounds (JSON) and bound back into source queries: numbers stay
//! numbers, text stays text, anything else is `{"hex": "…"}`, so a bound is compared by the
//! source as the typed value it was read as, never re-sorted as text.

use mysql_async::Value;
use serde_json::{json, Value as Json};

pub fn to_json(v: &Value) -> Json {
    match v {
        Value::NULL => Json::Null,
        Value::Int(i) => json!(i),
        Value::UInt(u) => json!(u),
        Value::Float(f) => json!(f),
        Value::Double(f) => json!(f),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => json!(s),
            Err(_) => json!({ "hex": b.iter().map(|x| format!("{x:02x}")).collect::<String>() }),
        },
        Value::Date(y, m, d, h, mi, s, us) => json!(format!(
            "{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}"
        )),
        Value::Time(neg, days, h, mi, s, us) => {
            json!(format!(
                "{}{}:{mi:02}:{s:02}.{us:06}",
                if *neg { "-" } else { "" },
                *days as u64 * 24 + *h as u64
            ))
        }
    }
}

pub fn from_json(j: &Json) -> Value {
    match j {
        Json::Null => Value::NULL,
        Json::Bool(b) => Value::Int(*b as i64),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::UInt(u)
            } else {
                Value::Double(n.as_f64().unwrap_or(0.0))
            }
        }
        Json::String(s) => Value::Bytes(s.as_bytes().to_vec()),
        Json::Object(o) => {
            let hex = o.get("hex").and_then(Json::as_str).unwrap_or("");
            Value::Bytes(
                (0..hex.len() / 2)
                    .filter_map(|i| u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).ok())
                    .collect(),
            )
        }
        Json::Array(_) => Value::NULL,
    }
}

/// A readable rendering of a key for error messages: `id=42` or `a=1, b='x'`.
pub fn describe(names: &[String], values: &[Value]) -> String {
    names
        .iter()
        .zip(values)
        .map(|(n, v)| match to_json(v) {
            Json::String(s) => format!("{n}='{s}'"),
            other => format!("{n}={other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for v in [
            Value::Int(-5),
            Value::UInt(u64::MAX),
            Value::Bytes(b"abc".to_vec()),
            Value::Bytes(vec![0xff, 0]),
        ] {
            assert_eq!(from_json(&to_json(&v)), v);
        }
    }
}
