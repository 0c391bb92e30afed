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
    /// Every key column is among the row's hashed columns (its text need not lead the row).
    pub key_in_row: bool,
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
/// Key ranges of a MySQL full pass at full speed (cheap on the clustered key; more ranges,
/// finer progress).
const MYSQL_RANGES: i128 = 8;

/// How a full pass runs: the throttle, and who hears of its progress (rows hashed so far).
#[derive(Clone, Copy)]
pub struct Scan<'a> {
    pub throttle: &'a crate::throttle::Throttle,
    pub progress: Option<&'a (dyn Fn(i64) + Send + Sync)>,
}

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

    /// Both sides are one PostgreSQL server: its parallel aggregates then run best one side
    /// after the other (measured: two at once took 3.5x one, not 2x).
    pub fn same_pg_server(&self, other: &Side) -> bool {
        match (self, other) {
            (Side::Postgres { spec: a, .. }, Side::Postgres { spec: b, .. }) => {
                a.server() == b.server()
            }
            _ => false,
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
                                        not_null: !c.nullable,
                                        fsp: c.datetime_precision,
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
                        "SELECT c.table_name::text, c.column_name::text, lower(c.data_type), c.numeric_scale::int8, c.character_maximum_length::int8, c.is_nullable = 'NO' \
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
                        not_null: r.get(5),
                        fsp: None,
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
        // The probe: the one-pass form over rows of different texts, grouped as the bucket
        // queries are, must sum to what the two-pass form (and zdm) compute.
        let probe: Option<(u8, Option<String>, Option<String>)> = c
            .query_first(
                "SELECT n > 0, CAST(SUM(CRC32(@zdm_row := CONCAT(v, '-', n)) | (CRC32C(@zdm_row) << 32)) AS CHAR), \
                        CAST(SUM(CRC32(CONCAT(v, '-', n)) | (CRC32C(CONCAT(v, '-', n)) << 32)) AS CHAR) \
                 FROM (SELECT 'a' AS v, 1 AS n UNION ALL SELECT 'bc', 22 UNION ALL SELECT 'déf', 333) s GROUP BY 1",
            )
            .await
            .map_err(zdm_mysql::Error::from)?;
        let probe = probe.map(|(_, a, b)| (a, b));
        let _ = c.disconnect().await;
        let expected: u128 = ["a-1", "bc-22", "déf-333"]
            .iter()
            .map(|t| crc64(t.as_bytes()) as u128)
            .sum();
        let one_pass =
            matches!(probe, Some((Some(a), Some(b))) if a == b && a == expected.to_string());
        Ok(Some(RowHash::Crc64 { one_pass }))
    }

    /// The table's row estimate from the statistics (for progress; 0 when unknown).
    pub async fn estimate_rows(&self, table: &str) -> Result<i64> {
        match self {
            Side::Mysql { spec, database } => {
                let mut c = spec.connect(MYSQL_SETUP).await?;
                let n: Option<Option<u64>> = c
                    .exec_first(
                        "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                        (database.as_str(), table),
                    )
                    .await
                    .map_err(zdm_mysql::Error::from)?;
                let _ = c.disconnect().await;
                Ok(n.flatten().unwrap_or(0) as i64)
            }
            Side::Postgres { spec, .. } => {
                let c = pg_session(spec).await?;
                let n: Option<f32> = c
                    .query_one(
                        "SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)",
                        &[&self.qualified(table)],
                    )
                    .await?
                    .get(0);
                Ok(n.unwrap_or(0.0).max(0.0) as i64)
            }
        }
    }

    /// The table's heap size in blocks, where TID range scans exist (PostgreSQL 14+).
    async fn heap_blocks(&self, table: &str) -> Result<Option<i64>> {
        let Side::Postgres { spec, .. } = self else {
            return Ok(None);
        };
        let c = pg_session(spec).await?;
        Ok(c.query_one(
            "SELECT CASE WHEN current_setting('server_version_num')::int >= 140000 \
             THEN (pg_relation_size(to_regclass($1)) / current_setting('block_size')::int)::int8 END",
            &[&self.qualified(table)],
        )
        .await?
        .get(0))
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
    pub async fn buckets(
        &self,
        x: &Exprs,
        only: Option<&[String]>,
        scan: &Scan<'_>,
    ) -> Result<Buckets> {
        let Some(filter) = self.bucket_filter(x, only) else {
            return Ok(Buckets::new());
        };
        // The key's own text leads the row's unless the row holds every key column already.
        let row_text = if x.key_in_row {
            x.row.clone()
        } else {
            self.concat(&[x.key.clone(), self.sep(), x.row.clone()])
        };
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
            let hash = if x.hash == RowHash::PgHashtext {
                x.pg_row_hash.clone()
            } else {
                self.row_hash(&row_text, x.hash)
            };
            match self {
                // MariaDB materialises a derived table before grouping it (a third of the
                // scan's time at 2M rows): the aggregate is written flat, grouped by position
                // (an alias could name one of the table's columns). The text protocol sends
                // the bucket as text.
                Side::Mysql { .. } => format!(
                    "SELECT {}, CAST(count(*) AS CHAR), CAST(sum({hash}) AS CHAR) FROM {}{filter} GROUP BY 1",
                    self.bucket(x),
                    self.qualified(&x.table)
                ),
                Side::Postgres { .. } => format!(
                    "SELECT CAST(b AS CHAR), CAST(count(*) AS CHAR), CAST(sum(h) AS CHAR) FROM (SELECT {} AS b, {hash} AS h FROM {}{filter}) s GROUP BY b",
                    self.bucket(x),
                    self.qualified(&x.table)
                ),
            }
        };
        let run = |q: String| async move {
            if streamed {
                self.streamed_buckets(q).await
            } else {
                self.sql_buckets(q).await
            }
        };
        let sql_all = async {
            let mut merged = Buckets::new();
            let mut done = 0i64;
            let mut merge = |part: Buckets, merged: &mut Buckets| {
                for (b, (n, h)) in part {
                    done += n;
                    let e = merged.entry(b).or_insert((0, 0));
                    e.0 += n;
                    e.1 = e.1.wrapping_add(h);
                }
                if let Some(p) = scan.progress {
                    p(done);
                }
            };
            let throttled = scan.throttle.batch_target;
            // Key bounds only where key ranges are used.
            let bounds = match (&x.int_key, only) {
                (Some(k), None) if throttled.is_some() || matches!(self, Side::Mysql { .. }) => {
                    self.int_key_bounds(&x.table, k).await?.map(|b| (k, b))
                }
                _ => None,
            };
            let range =
                |k: &str, a: i128, b: i128| query(&format!(" WHERE {k} >= {a} AND {k} < {b}"));
            let blocks = match (self, only, throttled) {
                (Side::Postgres { .. }, None, None) => self.heap_blocks(&x.table).await?,
                _ => None,
            };
            match (bounds, throttled) {
                // Throttled: one range at a time, sized to the target, the throttle between.
                (Some((k, (lo, hi))), Some(target)) => {
                    let mut ranges = crate::throttle::Ranges::new(lo, hi, 10_000);
                    while let Some((a, b)) = ranges.next_range() {
                        let began = std::time::Instant::now();
                        let part = run(range(k, a, b)).await?;
                        ranges.took(began.elapsed(), target);
                        merge(part, &mut merged);
                        scan.throttle.between().await?;
                    }
                }
                // At full speed a MySQL query, or a PostgreSQL COPY, runs on one thread: the
                // pass is split and run two at a time. PostgreSQL's own parallel aggregate
                // does not serve: it takes `k % 4096` for as many groups as rows, and sorts
                // the table to disk. MySQL splits by key (ranges of its clustered index);
                // PostgreSQL by heap blocks (TID range scans read only their blocks, where a
                // key range may scan the whole heap). Any split works: buckets depend on the
                // key only.
                _ if blocks.is_some_and(|b| b > 1000) => {
                    let blocks = blocks.unwrap_or(0);
                    let step = blocks / PARALLEL_SCANS as i64 + 1;
                    let queries = (0..PARALLEL_SCANS as i64).map(|i| {
                        let upper = if i + 1 < PARALLEL_SCANS as i64 {
                            format!(" AND ctid < '({},0)'::tid", (i + 1) * step)
                        } else {
                            // Open-ended: blocks added since the size was read count too.
                            String::new()
                        };
                        query(&format!(" WHERE ctid >= '({},0)'::tid{upper}", i * step))
                    });
                    let mut results = futures_util::stream::iter(queries.map(run))
                        .buffer_unordered(PARALLEL_SCANS);
                    while let Some(part) = results.next().await {
                        merge(part?, &mut merged);
                    }
                }
                (Some((k, (lo, hi))), None) if hi - lo > 10_000 => {
                    let step = (hi - lo) / MYSQL_RANGES + 1;
                    let queries =
                        (0..MYSQL_RANGES).map(|i| range(k, lo + i * step, lo + (i + 1) * step));
                    let mut results = futures_util::stream::iter(queries.map(run))
                        .buffer_unordered(PARALLEL_SCANS);
                    while let Some(part) = results.next().await {
                        merge(part?, &mut merged);
                    }
                }
                _ => merge(run(query(&filter)).await?, &mut merged),
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
                // At most 4096 groups: hashing them beats the sort the planner picks when it
                // takes the bucket expression for as many groups as rows.
                c.batch_execute("SET enable_sort = off").await?;
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
                let h = text.map(crc64).unwrap_or(0) as i128;
                let bucket = std::str::from_utf8(bucket.unwrap_or_default())
                    .map_err(|_| Error::Refused("a bucket that is not text".into()))?;
                // Look up before inserting: a key String is made once per bucket, not per row.
                match out.get_mut(bucket) {
                    Some(e) => {
                        e.0 += 1;
                        e.1 += h;
                    }
                    None => {
                        out.insert(bucket.to_string(), (1, h));
                    }
                }
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
        // A bucket is not a key range: its rows take a full scan. MySQL runs a query on one
        // thread, so that scan is split into key ranges read at once.
        if let (Side::Mysql { .. }, Some(k), Some(_)) = (self, &x.int_key, only) {
            if let Some((lo, hi)) = self.int_key_bounds(&x.table, k).await? {
                if hi - lo > 10_000 {
                    let step = (hi - lo) / PARALLEL_SCANS as i128 + 1;
                    let parts = (0..PARALLEL_SCANS as i128).map(|i| {
                        let range = format!(
                            " AND {k} >= {} AND {k} < {}",
                            lo + i * step,
                            lo + (i + 1) * step
                        );
                        async move {
                            let mut out = Vec::new();
                            self.each_row_where(x, only, &range, |k, v| out.push((k, v)))
                                .await?;
                            Ok::<_, Error>(out)
                        }
                    });
                    let parts = futures_util::future::try_join_all(parts).await?;
                    return Ok(parts.into_iter().flatten().collect());
                }
            }
        }
        let mut out = Vec::new();
        self.each_row(x, only, |k, v| out.push((k, v))).await?;
        Ok(out)
    }

    /// Streams the canonical rows of the given buckets to `f` (memory: one row).
    pub async fn each_row(
        &self,
        x: &Exprs,
        only: Option<&[String]>,
        f: impl FnMut(String, Vec<Option<String>>),
    ) -> Result<()> {
        self.each_row_where(x, only, "", f).await
    }

    /// [`Side::each_row`] with `and` (` AND …`) added to a bucket filter (`only` is `Some`).
    async fn each_row_where(
        &self,
        x: &Exprs,
        only: Option<&[String]>,
        and: &str,
        mut f: impl FnMut(String, Vec<Option<String>>),
    ) -> Result<()> {
        let Some(filter) = self.bucket_filter(x, only) else {
            return Ok(());
        };
        let filter = if filter.is_empty() {
            filter
        } else {
            format!("{filter}{and}")
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
