//! [`PgValue`]: a value in PostgreSQL's binary wire format, written by binary COPY (the snapshot)
//! and bound as a parameter (the change stream), so both paths send identical bytes.

use bytes::{BufMut, BytesMut};
use std::error::Error as StdError;
use tokio_postgres::types::{IsNull, ToSql, Type};

#[derive(Debug, Clone, PartialEq)]
pub enum PgValue {
    Null,
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    /// A decimal in plain notation (`-12.340`); its scale is kept.
    Numeric(String),
    F32(f32),
    F64(f64),
    Text(String),
    Bytea(Vec<u8>),
    /// Days since 2000-01-01.
    Date(i32),
    /// Microseconds since 2000-01-01 00:00:00 (wall clock, or UTC for timestamptz).
    Timestamp(i64),
    /// Microseconds since midnight.
    Time(i64),
    Interval {
        micros: i64,
        days: i32,
        months: i32,
    },
    /// JSON text (PostgreSQL parses it, so big numbers keep every digit).
    Json(String),
    TextArray(Vec<String>),
    VarBit {
        bits: u32,
        data: Vec<u8>,
    },
    Uuid([u8; 16]),
    Inet(std::net::IpAddr),
}

impl PgValue {
    pub fn is_null(&self) -> bool {
        matches!(self, PgValue::Null)
    }
}

/// Base-10000 digits of a plain decimal string: (negative, weight, digits, dscale).
pub fn numeric_parts(s: &str) -> Option<(bool, i16, Vec<i16>, u16)> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int = int.trim_start_matches('0');
    let dscale = frac.len() as u16;
    let int_pad = (4 - int.len() % 4) % 4;
    let mut digits_str = "0".repeat(int_pad);
    digits_str.push_str(int);
    let int_groups = digits_str.len() / 4;
    digits_str.push_str(frac);
    digits_str.push_str(&"0".repeat((4 - frac.len() % 4) % 4));
    let mut digits: Vec<i16> = digits_str
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap().parse().unwrap())
        .collect();
    let mut weight = int_groups as i32 - 1;
    while digits.first() == Some(&0) {
        digits.remove(0);
        weight -= 1;
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        return Some((false, 0, vec![], dscale));
    }
    Some((neg, weight as i16, digits, dscale))
}

fn put_len_prefixed(out: &mut BytesMut, bytes: &[u8]) {
    out.put_i32(bytes.len() as i32);
    out.put_slice(bytes);
}

impl ToSql for PgValue {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            PgValue::Null => return Ok(IsNull::Yes),
            PgValue::Bool(b) => out.put_u8(*b as u8),
            PgValue::I16(v) => out.put_i16(*v),
            PgValue::I32(v) => out.put_i32(*v),
            PgValue::I64(v) => out.put_i64(*v),
            PgValue::F32(v) => out.put_f32(*v),
            PgValue::F64(v) => out.put_f64(*v),
            PgValue::Numeric(s) => {
                let (neg, weight, digits, dscale) =
                    numeric_parts(s).ok_or_else(|| format!("not a decimal number: {s:?}"))?;
                out.put_i16(digits.len() as i16);
                out.put_i16(weight);
                out.put_u16(if neg { 0x4000 } else { 0 });
                out.put_u16(dscale);
                for d in digits {
                    out.put_i16(d);
                }
            }
            PgValue::Text(s) => out.put_slice(s.as_bytes()),
            PgValue::Bytea(b) => out.put_slice(b),
            PgValue::Date(d) => out.put_i32(*d),
            PgValue::Timestamp(t) => out.put_i64(*t),
            PgValue::Time(t) => out.put_i64(*t),
            PgValue::Interval {
                micros,
                days,
                months,
            } => {
                out.put_i64(*micros);
                out.put_i32(*days);
                out.put_i32(*months);
            }
            PgValue::Json(s) => {
                if *ty == Type::JSONB {
                    out.put_u8(1);
                }
                out.put_slice(s.as_bytes());
            }
            PgValue::TextArray(items) => {
                if items.is_empty() {
                    out.put_i32(0);
                    out.put_i32(0);
                    out.put_u32(Type::TEXT.oid());
                } else {
                    out.put_i32(1);
                    out.put_i32(0);
                    out.put_u32(Type::TEXT.oid());
                    out.put_i32(items.len() as i32);
                    out.put_i32(1);
                    for i in items {
                        put_len_prefixed(out, i.as_bytes());
                    }
                }
            }
            PgValue::VarBit { bits, data } => {
                out.put_i32(*bits as i32);
                out.put_slice(data);
            }
            PgValue::Uuid(u) => out.put_slice(u),
            PgValue::Inet(ip) => match ip {
                std::net::IpAddr::V4(a) => {
                    out.put_slice(&[2, 32, 0, 4]);
                    out.put_slice(&a.octets());
                }
                std::net::IpAddr::V6(a) => {
                    out.put_slice(&[3, 128, 0, 16]);
                    out.put_slice(&a.octets());
                }
            },
        }
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_digits() {
        assert_eq!(
            numeric_parts("12345.678"),
            Some((false, 1, vec![1, 2345, 6780], 3))
        );
        assert_eq!(numeric_parts("-0.0001"), Some((true, -1, vec![1], 4)));
        assert_eq!(numeric_parts("0.000"), Some((false, 0, vec![], 3)));
        assert_eq!(
            numeric_parts("18446744073709551615"),
            Some((false, 4, vec![1844, 6744, 737, 955, 1615], 0))
        );
        assert_eq!(numeric_parts("100000000"), Some((false, 2, vec![1], 0)));
        assert_eq!(numeric_parts("1e5"), None);
        assert_eq!(numeric_parts(""), None);
    }
}
