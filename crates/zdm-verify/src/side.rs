//! One side of a comparison: a MySQL/MariaDB database or a PostgreSQL schema. Reads its tables'
//! columns and keys, and runs the two queries verification needs: per-bucket counts and hash
//! sums, and the canonical rows of chosen buckets. Nothing is written.

use crate::canon::{ColType, Engine};
use crate::{Error, Result};
use futures_util::{pin_mut, StreamExt};
use mysql_async::prelude::*;
use std::collections::HashMap;
use zdm_core::ident::{quote_ident, quote_literal, quote_qualified};
use zdm_mysql::trace::quote_ident as my_ident;

#[derive(Debug, Clone)]
pub struct TableInfo {
    pub name: String,
    pub columns: Vec<(String, ColType)>,
    pub key: Vec<String>,
}

#[derive(Clone)]
#[allow(clippy::large_enum_variant)] // two of them per run
pub enum Side {
    Mysql {
        spec: zdm_mysql::SourceSpec,
        database: String,
    },
    Postgres {
        spec: zdm_pg::ConnectionSpec,
        schema: String,
    },
}

/// A table's expressions on one side: the key text, the row text (JSON columns apart).
#[derive(Debug, Clone)]
pub struct Exprs {
    pub table: String,
    pub key: String,
    pub row: String,
    /// Canonical expression of every compared column, in order (JSON columns: the raw text).
    pub columns: Vec<String>,
    /// Indexes (in `columns`) of JSON columns, canonicalised in Rust.
    pub json: Vec<usize>,
    /// A single integer key column (quoted) buckets by `key % 4096`, far cheaper than md5.
    pub int_key: Option<String>,
    /// How a row's canonical text becomes the 64-bit number its bucket sums.
    pub hash: RowHash,
    /// [`RowHash::PgHashtext`]: the row's hash from its columns' typed hashes.
    pub pg_row_hash: String,
}

/// The row hash, chosen per run so both sides compute the same function at the least cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowHash {
    /// Both sides PostgreSQL: in the server, the XOR of the columns' 64-bit typed hashes
    /// (`canon::pg_column_hash`), no row text printed at all.
    PgHashtext,
    /// `CRC32 | CRC32C << 32` (two independent polynomials, 64 bits): in the server on MariaDB
    /// (both are hardware-assisted there); on PostgreSQL, which has neither, zdm computes it
    /// over the same canonical text streamed by binary COPY. About twice as cheap as md5 on
    /// MariaDB and a third of it on PostgreSQL. `one_pass`: MariaDB builds the row text once
    /// (kept in a user variable for the second CRC) — used only when a probe showed the server
    /// evaluates it in order; otherwise the text is built twice.
    Crc64 { one_pass: bool },
    /// The first 60 bits of md5, in the server on both sides: for sources without CRC32C
    /// (MySQL, MariaDB before 10.8).
    Md5,
}

/// Per bucket (first hex digits of md5(key)): rows and the sum of 60-bit row-hash prefixes.
pub type Buckets = HashMap<String, (i64, i128)>;

pub const BUCKET_DIGITS: usize = 3;
pub const INT_BUCKETS: u32 = 4096;
/// Concurrent range scans of one table (MySQL queries, PostgreSQL COPYs).
const PARALLEL_SCANS: usize = 2;

pub const MYSQL_SETUP: &[&str] = &[
    "SET time_zone = '+00:00'",
    "SET NAMES utf8mb4",
    "SET SESSION group_concat_max_len = 1048576",
];

/// A PostgreSQL session whose text output depends on nothing but the values: two servers with
/// different defaults (time zone, date style, float digits) print equal values alike.
async fn pg_session(spec: &zdm_pg::ConnectionSpec) -> Result<tokio_postgres::Client> {
    let c = spec
        .connect("zdm verify")
        .await
        .map_err(zdm_pg::Error::from)?;
    c.batch_execute(
        "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET IntervalStyle = 'postgres'; \
         SET extra_float_digits = 1; SET bytea_output = 'hex'",
    )
    .await?;
    Ok(c)
}

impl Side {
    pub fn engine(&self) -> Engine {
        match self {
            Side::Mysql { .. } => Engine::Mysql,
            Side::Postgres { .. } => Engine::Postgres,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Side::Mysql { spec, .. } => spec.redacted().to_string(),
            Side::Postgres { spec, schema } => format!("{} (schema {schema})", spec.redacted()),
        }
    }

    pub fn qualified(&self, table: &str) -> String {
        match self {
            Side::Mysql { database, .. } => format!("{}.{}", my_ident(database), my_ident(table)),
            Side::Postgres { schema, .. } => quote_qualified(schema, table),
        }
    }

    pub fn quote(&self, col: &str) -> String {
        match self {
            Side::Mysql { .. } => my_ident(col),
            Side::Postgres { .. } => quote_ident(col),
        }
    }

    pub async fn tables(&self) -> Result<Vec<TableInfo>> {
        match self {
            Side::Mysql { spec, database } => {
                let mut c = spec.connect(MYSQL_SETUP).await?;
                let cat = zdm_mysql::catalog::read(&mut c, database).await?;
                let _ = c.disconnect().await;
                Ok(cat
                    .tables
                    .into_iter()
                    .map(|t| {
                        let key = if t.primary_key.is_empty() {
                            t.indexes
                                .iter()
                                .find(|i| i.unique)
                                .map(|i| i.columns.iter().map(|c| c.name.clone()).collect())
                                .unwrap_or_default()
                        } else {
                            t.primary_key.clone()
                        };
                        TableInfo {
                            name: t.name,
                            columns: t
                                .columns
                                .into_iter()
                                .map(|c| {
                                    let ct = ColType {
                                        engine: Engine::Mysql,
                                        data_type: c.data_type.clone(),
                                        scale: c.numeric_scale,
                                        bits: (c.data_type == "bit")
                                            .then_some(c.numeric_precision.unwrap_or(1)),
                                        json: c.is_json,
                                        charset: c.charset.clone(),
                                    };
                                    (c.name, ct)
                                })
                                .collect(),
                            key,
                        }
                    })
                    .collect())
            }
            Side::Postgres { spec, schema } => {
                let c = pg_session(spec).await?;
                let cols = c
                    .query(
                        "SELECT c.table_name::text, c.column_name::text, lower(c.data_type), c.numeric_scale::int8, c.character_maximum_length::int8 \
                         FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name) \
                         WHERE c.table_schema = $1 AND t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position",
                        &[schema],
                    )
                    .await?;
                let keys = c
                    .query(
                        "SELECT rel.relname::text, a.attname::text FROM pg_index i JOIN pg_class rel ON rel.oid = i.indrelid \
                         JOIN pg_namespace n ON n.oid = rel.relnamespace \
                         JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord) ON true \
                         JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum = k.attnum \
                         WHERE n.nspname = $1 AND i.indisprimary ORDER BY rel.relname, k.ord",
                        &[schema],
                    )
                    .await?;
                let mut out: Vec<TableInfo> = Vec::new();
                for r in cols {
                    let table: String = r.get(0);
                    let data_type: String = r.get(2);
                    let scale: Option<i64> = r.get(3);
                    let len: Option<i64> = r.get(4);
                    let ct = ColType {
                        engine: Engine::Postgres,
                        json: false,
                        bits: len.map(|l| l as u64),
                        scale: scale.map(|s| s as u64),
                        data_type,
                        charset: None,
                    };
                    match out.last_mut() {
                        Some(t) if t.name == table => t.columns.push((r.get(1), ct)),
                        _ => out.push(TableInfo {
                            name: table,
                            columns: vec![(r.get(1), ct)],
                            key: vec![],
                        }),
                    }
                }
                for r in keys {
                    let table: String = r.get(0);
                    if let Some(t) = out.iter_mut().find(|t| t.name == table) {
                        t.key.push(r.get(1));
                    }
                }
                Ok(out)
            }
        }
    }

    fn md5(&self, e: &str) -> String {
        format!("md5({e})")
    }

    /// The value separator as an SQL literal.
    pub fn sep(&self) -> String {
        match self {
            Side::Mysql { .. } => "CHAR(31 USING utf8mb4)".into(),
            Side::Postgres { .. } => "E'\\x1f'".into(),
        }
    }

    /// `concat(a, b, …)` in this engine.
    pub fn concat(&self, parts: &[String]) -> String {
        match self {
            Side::Mysql { .. } => format!("CONCAT({})", parts.join(", ")),
            Side::Postgres { .. } => format!("({})", parts.join(" || ")),
        }
    }

    fn row_hash(&self, e: &str, hash: RowHash) -> String {
        match (hash, self) {
            (RowHash::PgHashtext, _) => format!("hashtextextended({e}, 0)"),
            (RowHash::Crc64 { one_pass: true }, Side::Mysql { .. }) => {
                format!("(CRC32(@zdm_row := {e}) | (CRC32C(@zdm_row) << 32))")
            }
            (RowHash::Crc64 { .. }, Side::Mysql { .. }) => {
                format!("(CRC32({e}) | (CRC32C({e}) << 32))")
            }
            // Computed by zdm (`streamed_buckets`); never sent to the server.
            (RowHash::Crc64 { .. }, Side::Postgres { .. }) => String::new(),
            (RowHash::Md5, Side::Mysql { .. }) => format!(
                "CAST(CONV(SUBSTRING({}, 1, 15), 16, 10) AS UNSIGNED)",
                self.md5(e)
            ),
            (RowHash::Md5, Side::Postgres { .. }) => {
                format!("('x' || substr({}, 1, 15))::bit(60)::bigint", self.md5(e))
            }
        }
    }

    /// Whether this side can compute [`RowHash::Crc64`] (PostgreSQL always can: zdm does it),
    /// and whether in one pass (see [`RowHash::Crc64`]).
    pub async fn crc64(&self) -> Result<Option<RowHash>> {
        let Side::Mysql { spec, .. } = self else {
            return Ok(Some(RowHash::Crc64 { one_pass: true }));
        };
        let mut c = spec.connect(MYSQL_SETUP).await?;
        if c.query_first::<Option<u64>, _>("SELECT CRC32C('zdm')")
            .await
            .is_err()
        {
            let _ = c.disconnect().await;
            return Ok(None);
        }
        // The probe: the one-pass form over rows of different texts must sum to what the
        // two-pass form (and zdm) compute.
        let probe: Option<(Option<String>, Option<String>)> = c
            .query_first(
                "SELECT CAST(SUM(CRC32(@zdm_row := CONCAT(v, '-', n)) | (CRC32C(@zdm_row) << 32)) AS CHAR), \
                        CAST(SUM(CRC32(CONCAT(v, '-', n)) | (CRC32C(CONCAT(v, '-', n)) << 32)) AS CHAR) \
                 FROM (SELECT 'a' AS v, 1 AS n UNION ALL SELECT 'bc', 22 UNION ALL SELECT 'déf', 333) s",
            )
            .await
            .map_err(zdm_mysql::Error::from)?;
        let _ = c.disconnect().await;
        let expected: u128 = ["a-1", "bc-22", "déf-333"]
            .iter()
            .map(|t| crc64(t.as_bytes()) as u128)
            .sum();
        let one_pass =
            matches!(probe, Some((Some(a), Some(b))) if a == b && a == expected.to_string());
        Ok(Some(RowHash::Crc64 { one_pass }))
    }

    /// MIN and MAX of an integer key, as integers.
    async fn int_key_bounds(&self, table: &str, k: &str) -> Result<Option<(i128, i128)>> {
        let sql = match self {
            Side::Mysql { .. } => format!(
                "SELECT CAST(MIN({k}) AS CHAR), CAST(MAX({k}) AS CHAR) FROM {}",
                self.qualified(table)
            ),
            Side::Postgres { .. } => format!(
                "SELECT min({k})::text, max({k})::text FROM {}",
                self.qualified(table)
            ),
        };
        let bounds: Option<(Option<String>, Option<String>)> = match self {
            Side::Mysql { spec, .. } => {
                let mut c = spec.connect(MYSQL_SETUP).await?;
                let r = c.query_first(sql).await.map_err(zdm_mysql::Error::from)?;
                let _ = c.disconnect().await;
                r
            }
            Side::Postgres { spec, .. } => {
                let c = pg_session(spec).await?;
                let r = c.query_one(&sql, &[]).await?;
                Some((r.get(0), r.get(1)))
            }
        };
        Ok(match bounds {
            Some((Some(lo), Some(hi))) => Some((lo.parse().unwrap_or(0), hi.parse().unwrap_or(0))),
            _ => None,
        })
    }

    fn bucket(&self, x: &Exprs) -> String {
        match (&x.int_key, self) {
            (Some(k), _) => format!("({k} % {INT_BUCKETS})"),
            (None, _) => format!("substr({}, 1, {BUCKET_DIGITS})", self.md5(&x.key)),
        }
    }

    /// ` WHERE bucket IN (…)` for `only`, `""` for every row, `None` when no bucket is asked for.
    fn bucket_filter(&self, x: &Exprs, only: Option<&[String]>) -> Option<String> {
        match only {
            Some([]) => None,
            Some(list) => {
                let list: Vec<String> = list.iter().map(|b| quote_literal(b)).collect();
                Some(format!(
                    " WHERE {} IN ({})",
                    self.bucket(x),
                    list.join(", ")
                ))
            }
            None => Some(String::new()),
        }
    }

    /// Per-bucket counts and sums, for all buckets or only `only`.
    pub async fn buckets(&self, x: &Exprs, only: Option<&[String]>) -> Result<Buckets> {
        let Some(filter) = self.bucket_filter(x, only) else {
            return Ok(Buckets::new());
        };
        let row_text = self.concat(&[x.key.clone(), self.sep(), x.row.clone()]);
        let streamed =
            matches!(self, Side::Postgres { .. }) && matches!(x.hash, RowHash::Crc64 { .. });
        let query = |filter: &str| {
            if streamed {
                return format!(
                    "COPY (SELECT ({})::text, {row_text} FROM {}{filter}) TO STDOUT (FORMAT binary)",
                    self.bucket(x),
                    self.qualified(&x.table)
                );
            }
            format!(
                "SELECT CAST(b AS CHAR), CAST(count(*) AS CHAR), CAST(sum(h) AS CHAR) FROM (SELECT {} AS b, {} AS h FROM {}{filter}) s GROUP BY b",
                self.bucket(x),
                if x.hash == RowHash::PgHashtext {
                    x.pg_row_hash.clone()
                } else {
                    self.row_hash(&row_text, x.hash)
                },
                self.qualified(&x.table)
            )
        };
        // A query runs on one thread in MySQL, and a COPY in PostgreSQL: a whole-table pass is
        // split into key ranges run at once (PostgreSQL parallelises its aggregate queries
        // itself). Any split works, since buckets depend on the key only.
        let mut sqls = vec![query(&filter)];
        let split = matches!(self, Side::Mysql { .. }) || streamed;
        if let (true, Some(k), None) = (split, &x.int_key, only) {
            if let Some((lo, hi)) = self.int_key_bounds(&x.table, k).await? {
                let parts = PARALLEL_SCANS as i128;
                if hi - lo > 10_000 {
                    let step = (hi - lo) / parts + 1;
                    sqls = (0..parts)
                        .map(|i| {
                            let a = lo + i * step;
                            query(&format!(" WHERE {k} >= {a} AND {k} < {}", a + step))
                        })
                        .collect();
                }
            }
        }
        let sql_all = async {
            let parts = futures_util::future::try_join_all(sqls.into_iter().map(|q| async move {
                if streamed {
                    self.streamed_buckets(q).await
                } else {
                    self.sql_buckets(q).await
                }
            }))
            .await?;
            let mut merged = Buckets::new();
            for part in parts {
                for (b, (n, h)) in part {
                    let e = merged.entry(b).or_insert((0, 0));
                    e.0 += n;
                    e.1 = e.1.wrapping_add(h);
                }
            }
            Ok::<Buckets, Error>(merged)
        };
        let json = async {
            if x.json.is_empty() {
                Ok(Buckets::new())
            } else {
                self.json_buckets(x, only).await
            }
        };
        let began = std::time::Instant::now();
        let sql_timed = async {
            let r = sql_all.await;
            tracing::info!(table = %x.table, engine = ?self.engine(), seconds = began.elapsed().as_secs_f64(), "bucket sums");
            r
        };
        let (mut out, json) = tokio::try_join!(sql_timed, json)?;
        tracing::info!(table = %x.table, engine = ?self.engine(), seconds = began.elapsed().as_secs_f64(), "buckets with JSON");
        for (b, (_, s)) in json {
            let e = out.entry(b).or_insert((0, 0));
            e.1 = e.1.wrapping_add(s);
        }
        Ok(out)
    }

    async fn sql_buckets(&self, sql: String) -> Result<Buckets> {
        tracing::debug!(%sql, "bucket query");
        let mut out = Buckets::new();
        let mut add = |b: String, n: &str, s: &str| -> Result<()> {
            let n: i64 = n
                .parse()
                .map_err(|_| Error::Refused(format!("bad count {n:?}")))?;
            let s: i128 = s
                .split('.')
                .next()
                .unwrap_or("0")
                .parse()
                .map_err(|_| Error::Refused(format!("bad sum {s:?}")))?;
            out.insert(b, (n, s));
            Ok(())
        };
        match self {
            Side::Mysql { spec, .. } => {
                let mut c = spec.connect(MYSQL_SETUP).await?;
                let rows: Vec<(String, String, Option<String>)> =
                    c.query(sql).await.map_err(zdm_mysql::Error::from)?;
                for (b, n, s) in rows {
                    add(b, &n, s.as_deref().unwrap_or("0"))?;
                }
                let _ = c.disconnect().await;
            }
            Side::Postgres { spec, .. } => {
                let c = pg_session(spec).await?;
                let sql = sql.replace("AS CHAR)", "AS text)");
                for r in c.query(&sql, &[]).await? {
                    let s: Option<String> = r.get(2);
                    add(r.get(0), r.get::<_, &str>(1), s.as_deref().unwrap_or("0"))?;
                }
            }
        }
        Ok(out)
    }

    /// [`RowHash::Crc64`] on PostgreSQL: `sql` is a binary COPY of (bucket text, row text);
    /// each row's hash is computed here as MariaDB computes it in the server.
    async fn streamed_buckets(&self, sql: String) -> Result<Buckets> {
        let Side::Postgres { spec, .. } = self else {
            unreachable!("streamed buckets are PostgreSQL's");
        };
        tracing::debug!(%sql, "bucket copy");
        let c = pg_session(spec).await?;
        let stream = c.copy_out(&sql).await?;
        pin_mut!(stream);
        let mut out = Buckets::new();
        let mut reader = crate::copy_binary::Reader::default();
        while let Some(chunk) = stream.next().await {
            reader.feed(&chunk?);
            while let Some(fields) = reader.next_tuple()? {
                let [bucket, text] = fields[..] else {
                    return Err(Error::Refused(
                        "a bucket COPY row without two fields".into(),
                    ));
                };
                let bucket = String::from_utf8_lossy(bucket.unwrap_or_default()).into_owned();
                let h = text.map(crc64).unwrap_or(0);
                let e = out.entry(bucket).or_insert((0, 0));
                e.0 += 1;
                e.1 += h as i128;
            }
        }
        Ok(out)
    }

    /// JSON columns: canonicalised here and folded into their bucket's sum.
    async fn json_buckets(&self, x: &Exprs, only: Option<&[String]>) -> Result<Buckets> {
        // Only the key and the JSON columns travel.
        let slim = Exprs {
            columns: x.json.iter().map(|&i| x.columns[i].clone()).collect(),
            json: vec![],
            ..x.clone()
        };
        let mut out = Buckets::new();
        let mut text = String::new();
        self.each_row(&slim, only, |key, values| {
            text.clear();
            text.push_str(&key);
            for v in &values {
                text.push('|');
                match v {
                    Some(v) => text.push_str(&crate::canon::canonical_json(v)),
                    None => text.push('-'),
                }
            }
            let e = out
                .entry(bucket_of(&key, x.int_key.is_some()))
                .or_insert((0, 0));
            e.1 = e.1.wrapping_add(hash60(&text) as i128);
        })
        .await?;
        Ok(out)
    }

    /// Canonical rows (key text, column texts) of the given buckets (all rows when `None`).
    pub async fn rows(
        &self,
        x: &Exprs,
        only: Option<&[String]>,
    ) -> Result<Vec<(String, Vec<Option<String>>)>> {
        let mut out = Vec::new();
        self.each_row(x, only, |k, v| out.push((k, v))).await?;
        Ok(out)
    }

    /// Streams the canonical rows of the given buckets to `f` (memory: one row).
    pub async fn each_row(
        &self,
        x: &Exprs,
        only: Option<&[String]>,
        mut f: impl FnMut(String, Vec<Option<String>>),
    ) -> Result<()> {
        let Some(filter) = self.bucket_filter(x, only) else {
            return Ok(());
        };
        let sql = format!(
            "SELECT {}, {} FROM {}{filter}",
            x.key,
            x.columns.join(", "),
            self.qualified(&x.table)
        );
        match self {
            Side::Mysql { spec, .. } => {
                let mut c = spec.connect(MYSQL_SETUP).await?;
                let stream = c
                    .query_stream::<mysql_async::Row, _>(sql)
                    .await
                    .map_err(zdm_mysql::Error::from)?;
                pin_mut!(stream);
                while let Some(r) = stream.next().await {
                    let r = r.map_err(zdm_mysql::Error::from)?;
                    let mut vals: Vec<Option<String>> = (0..r.len())
                        .map(|i| r.get::<Option<String>, _>(i).flatten())
                        .collect();
                    let key = vals.remove(0).unwrap_or_default();
                    f(key, vals);
                }
            }
            Side::Postgres { spec, .. } => {
                let c = pg_session(spec).await?;
                let stream = c.query_raw(&sql, Vec::<String>::new()).await?;
                pin_mut!(stream);
                while let Some(r) = stream.next().await {
                    let r = r?;
                    let mut vals: Vec<Option<String>> = (0..r.len())
                        .map(|i| r.try_get::<_, Option<String>>(i))
                        .collect::<std::result::Result<_, _>>()?;
                    let key = vals.remove(0).unwrap_or_default();
                    f(key, vals);
                }
            }
        }
        Ok(())
    }
}

/// The bucket of a canonical key text, as the databases compute it.
pub fn bucket_of(key_text: &str, int_key: bool) -> String {
    use md5::{Digest, Md5};
    if int_key {
        let n: i128 = key_text
            .trim_end_matches(crate::canon::END)
            .parse()
            .unwrap_or(0);
        return (n % INT_BUCKETS as i128).to_string();
    }
    hex::encode(Md5::digest(key_text.as_bytes()))[..BUCKET_DIGITS].to_string()
}

/// [`RowHash::Crc64`] of a row's canonical text: MariaDB's `CRC32(t) | (CRC32C(t) << 32)`.
pub fn crc64(text: &[u8]) -> u64 {
    crc32fast::hash(text) as u64 | ((crc32c::crc32c(text) as u64) << 32)
}

pub fn hash60(text: &str) -> u64 {
    use md5::{Digest, Md5};
    let h = hex::encode(Md5::digest(text.as_bytes()));
    u64::from_str_radix(&h[..15], 16).unwrap_or(0)
}
