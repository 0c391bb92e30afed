//! One MySQL value → its PostgreSQL value, by the column's plan. The snapshot reads values with
//! the binary protocol (`character_set_results = utf8mb4`, `time_zone = '+00:00'`); the binlog
//! reader turns row images into the same shapes first (see [`Origin`]), so a value copied and
//! the same value replayed become identical bytes.

use super::pg::{numeric_parts, PgValue};
use crate::convert::{ColumnPlan, ValueKind};
use chrono::{NaiveDate, NaiveDateTime};
use mysql_async::Value;

/// Where the value was read: binlog images carry text in the column's charset, ENUM as its
/// 1-based index and SET as a bitmask; the snapshot gets UTF-8 text and member names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Snapshot,
    Binlog,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError(pub String);

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ConvertOptions {
    /// Remove NUL bytes from text (PostgreSQL text cannot hold them) instead of failing.
    pub strip_nul: bool,
}

fn err<T>(msg: impl Into<String>) -> Result<T, ValueError> {
    Err(ValueError(msg.into()))
}

fn epoch_2000() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

fn decode_text(bytes: &[u8], col: &ColumnPlan, origin: Origin) -> Result<String, ValueError> {
    let charset = col.charset.as_deref().unwrap_or("utf8mb4");
    if origin == Origin::Binlog
        && !matches!(charset, "utf8mb4" | "utf8mb3" | "utf8" | "ascii" | "binary")
    {
        // MySQL's latin1 is Windows-1252 (WHATWG maps the five undefined bytes like MySQL).
        let label = match charset {
            "latin1" => "windows-1252",
            "latin2" => "iso-8859-2",
            "cp1250" => "windows-1250",
            "cp1251" => "windows-1251",
            "greek" => "iso-8859-7",
            "hebrew" => "iso-8859-8",
            "koi8r" => "koi8-r",
            "gbk" | "gb2312" => "gbk",
            "gb18030" => "gb18030",
            "big5" => "big5",
            "sjis" | "cp932" => "shift_jis",
            "ujis" | "eucjpms" => "euc-jp",
            "euckr" => "euc-kr",
            other => {
                return err(format!(
                    "character set {other} is not supported for decoding"
                ))
            }
        };
        let enc = encoding_rs::Encoding::for_label(label.as_bytes())
            .ok_or_else(|| ValueError(format!("no decoder for {label}")))?;
        let (text, _, bad) = enc.decode(bytes);
        if bad {
            return err(format!("bytes not valid in {charset}"));
        }
        return Ok(text.into_owned());
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => err(format!("text is not valid UTF-8 ({e})")),
    }
}

fn check_nul(s: String, opts: ConvertOptions) -> Result<String, ValueError> {
    if s.contains('\0') {
        if opts.strip_nul {
            return Ok(s.replace('\0', ""));
        }
        return err("text contains a NUL byte, which PostgreSQL text cannot hold (--strip-nul removes them)");
    }
    Ok(s)
}

fn int_of(v: &Value) -> Option<i128> {
    match v {
        Value::Int(i) => Some(*i as i128),
        Value::UInt(u) => Some(*u as i128),
        Value::Bytes(b) => std::str::from_utf8(b).ok()?.trim().parse().ok(),
        Value::Float(f) if f.fract() == 0.0 => Some(*f as i128),
        Value::Double(f) if f.fract() == 0.0 => Some(*f as i128),
        _ => None,
    }
}

/// The text form of a value, for text targets and decimals.
fn text_of(v: &Value, col: &ColumnPlan, origin: Origin) -> Result<String, ValueError> {
    Ok(match v {
        Value::Bytes(b) => decode_text(b, col, origin)?,
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(f) => f.to_string(),
        Value::Date(y, m, d, h, mi, s, us) => {
            if *h == 0 && *mi == 0 && *s == 0 && *us == 0 && col.source_data_type == "date" {
                format!("{y:04}-{m:02}-{d:02}")
            } else if *us == 0 {
                format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            } else {
                format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}")
            }
        }
        Value::Time(neg, days, h, mi, s, us) => {
            let hours = *days as u64 * 24 + *h as u64;
            let sign = if *neg { "-" } else { "" };
            if *us == 0 {
                format!("{sign}{hours:02}:{mi:02}:{s:02}")
            } else {
                format!("{sign}{hours:02}:{mi:02}:{s:02}.{us:06}")
            }
        }
        Value::NULL => String::new(),
    })
}

/// Without `binlog_row_metadata` the binlog does not say which integers are unsigned, and the
/// decoder guesses: the column's width and signedness from the catalog decide the value.
fn fix_unsigned(v: i128, col: &ColumnPlan) -> i128 {
    let width = match col.source_data_type.as_str() {
        "tinyint" => 8,
        "smallint" => 16,
        "mediumint" => 24,
        "int" | "integer" => 32,
        "bigint" => 64,
        _ => return v,
    };
    let modulus = 1i128 << width;
    let raw = v.rem_euclid(modulus);
    if col.unsigned || raw < modulus / 2 {
        raw
    } else {
        raw - modulus
    }
}

/// Binlog shapes that differ from what the snapshot reads, rewritten into the snapshot's shape.
fn normalise_binlog(v: &Value, col: &ColumnPlan) -> Result<Option<Value>, ValueError> {
    Ok(match (col.source_data_type.as_str(), v) {
        // TIMESTAMP: seconds since the epoch (UTC) as text, `.ffffff` when not zero.
        ("timestamp", Value::Bytes(b)) => {
            let t = std::str::from_utf8(b).map_err(|_| ValueError("bad TIMESTAMP image".into()))?;
            let (secs, frac) = t.split_once('.').unwrap_or((t, "0"));
            let secs: i64 = secs
                .parse()
                .map_err(|_| ValueError(format!("bad TIMESTAMP image {t:?}")))?;
            if secs == 0 {
                Some(Value::Date(0, 0, 0, 0, 0, 0, 0))
            } else {
                let us: u32 = format!("{frac:0<6}")[..6].parse().unwrap_or(0);
                let dt = chrono::DateTime::from_timestamp(secs, us * 1000)
                    .ok_or_else(|| ValueError(format!("TIMESTAMP {t} out of range")))?
                    .naive_utc();
                use chrono::{Datelike, Timelike};
                Some(Value::Date(
                    dt.year() as u16,
                    dt.month() as u8,
                    dt.day() as u8,
                    dt.hour() as u8,
                    dt.minute() as u8,
                    dt.second() as u8,
                    us,
                ))
            }
        }
        // YEAR: the decoder gives 1900 + the stored byte, so 0000 arrives as 1900.
        ("year", Value::Bytes(b)) => {
            let y: i64 = std::str::from_utf8(b)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            Some(Value::Int(if y == 1900 { 0 } else { y }))
        }
        (
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint",
            Value::Int(_) | Value::UInt(_),
        ) => {
            let n = fix_unsigned(int_of(v).unwrap(), col);
            Some(if n < 0 {
                Value::Int(n as i64)
            } else {
                Value::UInt(n as u64)
            })
        }
        // BINARY(n): trailing zero bytes are stripped in row images.
        ("binary", Value::Bytes(b)) => {
            let n = col.length.unwrap_or(0) as usize;
            (b.len() < n).then(|| {
                let mut p = b.clone();
                p.resize(n, 0);
                Value::Bytes(p)
            })
        }
        // Text in the column's charset (the snapshot asks for UTF-8).
        ("char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext", Value::Bytes(b)) => {
            let s = decode_text(b, col, Origin::Binlog)?;
            let s = if col.source_data_type == "char" {
                s.trim_end_matches(' ').to_string()
            } else {
                s
            };
            Some(Value::Bytes(s.into_bytes()))
        }
        _ => None,
    })
}

fn bits_of(v: &Value) -> Option<u64> {
    match v {
        Value::Bytes(b) if b.len() <= 8 => {
            Some(b.iter().fold(0u64, |acc, x| (acc << 8) | *x as u64))
        }
        Value::Int(i) => Some(*i as u64),
        Value::UInt(u) => Some(*u),
        _ => None,
    }
}

/// Converts one value. A zero date in a column whose plan maps zero dates to NULL is NULL.
pub fn to_pg(
    v: &Value,
    col: &ColumnPlan,
    origin: Origin,
    opts: ConvertOptions,
) -> Result<PgValue, ValueError> {
    if matches!(v, Value::NULL) {
        return Ok(PgValue::Null);
    }
    if origin == Origin::Binlog {
        if let Some(normalised) = normalise_binlog(v, col)? {
            return to_pg(&normalised, col, Origin::Snapshot, opts);
        }
    }
    // ENUM / SET as the binlog carries them.
    if origin == Origin::Binlog && matches!(col.source_data_type.as_str(), "enum" | "set") {
        let n = match v {
            Value::Bytes(b) if col.source_data_type == "set" => {
                Some(b.iter().rev().fold(0i128, |a, x| (a << 8) | *x as i128))
            }
            other => int_of(other),
        };
        if let Some(n) = n {
            let n = n as u64;
            let names: Vec<String> = if col.source_data_type == "enum" {
                match n {
                    0 => vec![String::new()],
                    i => vec![col
                        .members
                        .get(i as usize - 1)
                        .cloned()
                        .ok_or_else(|| ValueError(format!("ENUM index {i} out of range")))?],
                }
            } else {
                col.members
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| n & (1u64 << i) != 0)
                    .map(|(_, m)| m.clone())
                    .collect()
            };
            return finish_text_like(names, col);
        }
    }
    match col.kind {
        ValueKind::Bool => {
            let n = if col.source_data_type == "bit" {
                bits_of(v).map(|b| b as i128)
            } else {
                int_of(v)
            };
            match n {
                Some(n) => Ok(PgValue::Bool(n != 0)),
                None => err(format!("not a boolean: {v:?}")),
            }
        }
        ValueKind::Int2 | ValueKind::Int4 | ValueKind::Int8 => {
            let n = match col.source_data_type.as_str() {
                "bit" => bits_of(v).map(|b| b as i128),
                _ => int_of(v).map(|n| fix_unsigned(n, col)),
            }
            .ok_or_else(|| {
                ValueError(format!(
                    "not an integer: {}",
                    text_of(v, col, origin).unwrap_or_default()
                ))
            })?;
            let out_of_range =
                || ValueError(format!("{n} does not fit PostgreSQL {}", col.pg_type));
            Ok(match col.kind {
                ValueKind::Int2 => PgValue::I16(i16::try_from(n).map_err(|_| out_of_range())?),
                ValueKind::Int4 => PgValue::I32(i32::try_from(n).map_err(|_| out_of_range())?),
                _ => PgValue::I64(i64::try_from(n).map_err(|_| out_of_range())?),
            })
        }
        ValueKind::Numeric => {
            let s = match v {
                Value::Int(_) | Value::UInt(_) => fix_unsigned(int_of(v).unwrap(), col).to_string(),
                Value::Float(f) if f.is_finite() => format!("{f}"),
                Value::Double(f) if f.is_finite() => format!("{f}"),
                _ => text_of(v, col, origin)?,
            };
            if numeric_parts(&s).is_none() {
                return err(format!("not a decimal number: {s:?}"));
            }
            Ok(PgValue::Numeric(s))
        }
        ValueKind::Float4 | ValueKind::Float8 => {
            let f = match v {
                Value::Float(f) => *f as f64,
                Value::Double(f) => *f,
                Value::Int(i) => *i as f64,
                Value::UInt(u) => *u as f64,
                _ => text_of(v, col, origin)?
                    .trim()
                    .parse::<f64>()
                    .map_err(|e| ValueError(format!("not a number: {e}")))?,
            };
            Ok(match (col.kind, v) {
                // A FLOAT read as f32 stays exactly that f32.
                (ValueKind::Float4, Value::Float(f)) => PgValue::F32(*f),
                (ValueKind::Float4, _) => PgValue::F32(f as f32),
                (_, Value::Float(f)) if col.source_data_type == "float" => PgValue::F64(*f as f64),
                _ => PgValue::F64(f),
            })
        }
        ValueKind::Text => {
            if col.source_data_type == "set" {
                return Ok(PgValue::Text(text_of(v, col, origin)?));
            }
            if matches!(v, Value::Date(..)) && is_zero_date(v) && col.zero_dates_to_null {
                return Ok(PgValue::Null);
            }
            let s = match (v, col.source_data_type.as_str()) {
                // CHAR: MySQL strips trailing spaces on read; the binlog image keeps the padding.
                (Value::Bytes(_), "char") if origin == Origin::Binlog => {
                    text_of(v, col, origin)?.trim_end_matches(' ').to_string()
                }
                (Value::Bytes(b), "bit") => {
                    b.iter().fold(0u64, |a, x| (a << 8) | *x as u64).to_string()
                }
                _ => text_of(v, col, origin)?,
            };
            Ok(PgValue::Text(check_nul(s, opts)?))
        }
        ValueKind::Bytea => match v {
            // MySQL stores geometry as a 4-byte SRID followed by WKB: keep the WKB.
            Value::Bytes(b)
                if crate::convert::rules::GEOMETRY_TYPES
                    .contains(&col.source_data_type.as_str())
                    && b.len() >= 4 =>
            {
                Ok(PgValue::Bytea(b[4..].to_vec()))
            }
            Value::Bytes(b) => Ok(PgValue::Bytea(b.clone())),
            other => Ok(PgValue::Bytea(text_of(other, col, origin)?.into_bytes())),
        },
        ValueKind::Date | ValueKind::Timestamp | ValueKind::Timestamptz => {
            let (y, m, d, h, mi, s, us) = match v {
                Value::Date(y, m, d, h, mi, s, us) => (*y, *m, *d, *h, *mi, *s, *us),
                Value::Bytes(_) => {
                    let t = text_of(v, col, origin)?;
                    match parse_datetime_text(&t) {
                        Some(p) => p,
                        None => return err(format!("not a date/time: {t:?}")),
                    }
                }
                other => return err(format!("not a date/time: {other:?}")),
            };
            if y == 0 || m == 0 || d == 0 {
                if col.zero_dates_to_null && col.nullable {
                    return Ok(PgValue::Null);
                }
                return err(format!("zero date {y:04}-{m:02}-{d:02} in a NOT NULL column (the source's sql_mode forbids zero dates, yet the row holds one)"));
            }
            let date = NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32)
                .ok_or_else(|| ValueError(format!("invalid date {y:04}-{m:02}-{d:02}")))?;
            if col.kind == ValueKind::Date {
                return Ok(PgValue::Date((date - epoch_2000().date()).num_days() as i32));
            }
            let dt = date
                .and_hms_micro_opt(h as u32, mi as u32, s as u32, us)
                .ok_or_else(|| ValueError(format!("invalid time {h:02}:{mi:02}:{s:02}.{us:06}")))?;
            let micros = (dt - epoch_2000())
                .num_microseconds()
                .ok_or_else(|| ValueError("timestamp out of range".into()))?;
            Ok(PgValue::Timestamp(micros))
        }
        ValueKind::Time | ValueKind::Interval => {
            let (neg, total_us) = match v {
                Value::Time(neg, days, h, mi, s, us) => (
                    *neg,
                    ((*days as i64 * 24 + *h as i64) * 3600 + *mi as i64 * 60 + *s as i64)
                        * 1_000_000
                        + *us as i64,
                ),
                Value::Bytes(_) => {
                    let t = text_of(v, col, origin)?;
                    parse_time_text(&t).ok_or_else(|| ValueError(format!("not a time: {t:?}")))?
                }
                other => return err(format!("not a time: {other:?}")),
            };
            if col.kind == ValueKind::Interval {
                let micros = if neg { -total_us } else { total_us };
                return Ok(PgValue::Interval {
                    micros,
                    days: 0,
                    months: 0,
                });
            }
            if neg || total_us > 86_400_000_000 {
                let t = text_of(v, col, origin).unwrap_or_default();
                return err(format!("TIME {t} is outside PostgreSQL's time range 00:00:00–24:00:00 (cast rule `time: interval` keeps it)"));
            }
            Ok(PgValue::Time(total_us))
        }
        ValueKind::Jsonb => {
            let s = check_nul(
                text_of(v, col, origin)?,
                ConvertOptions { strip_nul: false },
            )?;
            Ok(PgValue::Json(s))
        }
        ValueKind::TextArray => {
            let s = text_of(v, col, origin)?;
            let items = if s.is_empty() {
                vec![]
            } else {
                s.split(',').map(str::to_string).collect()
            };
            Ok(PgValue::TextArray(items))
        }
        ValueKind::VarBit => {
            let bits = col.bits.unwrap_or(64) as u32;
            let n = bits_of(v).ok_or_else(|| ValueError(format!("not a bit value: {v:?}")))?;
            let nbytes = bits.div_ceil(8) as usize;
            let mut data = vec![0u8; nbytes];
            for i in 0..bits {
                // Bit i of the string (MSB first) is bit (bits-1-i) of the number.
                if n >> (bits - 1 - i) & 1 == 1 {
                    data[(i / 8) as usize] |= 0x80 >> (i % 8);
                }
            }
            Ok(PgValue::VarBit { bits, data })
        }
        ValueKind::Uuid => {
            let s = text_of(v, col, origin)?;
            let hex: String = s.chars().filter(|c| *c != '-').collect();
            if hex.len() != 32 {
                return err(format!("not a UUID: {s:?}"));
            }
            let mut out = [0u8; 16];
            for (i, b) in out.iter_mut().enumerate() {
                *b = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16)
                    .map_err(|_| ValueError(format!("not a UUID: {s:?}")))?;
            }
            Ok(PgValue::Uuid(out))
        }
        ValueKind::Inet => {
            let s = text_of(v, col, origin)?;
            s.trim()
                .parse()
                .map(PgValue::Inet)
                .map_err(|_| ValueError(format!("not an IP address: {s:?}")))
        }
    }
}

fn finish_text_like(names: Vec<String>, col: &ColumnPlan) -> Result<PgValue, ValueError> {
    Ok(match col.kind {
        ValueKind::TextArray => PgValue::TextArray(names),
        _ => PgValue::Text(names.join(",")),
    })
}

fn is_zero_date(v: &Value) -> bool {
    matches!(v, Value::Date(y, m, d, ..) if *y == 0 || *m == 0 || *d == 0)
}

/// `YYYY-MM-DD[ HH:MM:SS[.ffffff]]`.
fn parse_datetime_text(t: &str) -> Option<(u16, u8, u8, u8, u8, u8, u32)> {
    let (date, time) = t
        .trim()
        .split_once([' ', 'T'])
        .unwrap_or((t.trim(), "00:00:00"));
    let mut d = date.split('-');
    let y = d.next()?.parse().ok()?;
    let m = d.next()?.parse().ok()?;
    let day = d.next()?.parse().ok()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut p = hms.split(':');
    let h = p.next()?.parse().ok()?;
    let mi = p.next()?.parse().ok()?;
    let s = p.next()?.parse().ok()?;
    let us = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}")[..6].parse().ok()?
    };
    Some((y, m, day, h, mi, s, us))
}

/// `[-]HHH:MM:SS[.ffffff]` → (negative, microseconds).
fn parse_time_text(t: &str) -> Option<(bool, i64)> {
    let t = t.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let (hms, frac) = t.split_once('.').unwrap_or((t, ""));
    let mut p = hms.split(':');
    let h: i64 = p.next()?.parse().ok()?;
    let m: i64 = p.next()?.parse().ok()?;
    let s: i64 = p.next()?.parse().ok()?;
    let us: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}")[..6].parse().ok()?
    };
    Some((neg, ((h * 60 + m) * 60 + s) * 1_000_000 + us))
}
