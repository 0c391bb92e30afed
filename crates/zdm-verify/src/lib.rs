//! `zdm verify`: do two databases hold the same rows? Any pair of MySQL/MariaDB and PostgreSQL.
//!
//! Each side renders every value in a canonical form ([`canon`]) inside its own database and
//! returns, per bucket of rows (the first hex digits of md5 of the canonical key), a row count
//! and a sum of 60-bit md5 prefixes of the canonical rows: order-independent, exact (no
//! overflow: sums are DECIMAL/numeric), and unlike XOR a duplicated row does not cancel out.
//! Buckets are chosen by the key's *hash*, never by ranges in either engine's sort order, so
//! collations cannot put a row in different segments on the two sides. Buckets that differ are
//! checked again (after the change stream has moved past the first read, when a move is
//! following), then their rows are fetched from both sides and compared by key, naming each
//! missing, extra or changed row and the changed columns.

pub mod canon;
mod copy_binary;
pub mod record;
pub mod side;
pub mod throttle;

use canon::{expr, pair_form, row_text, Form};
use serde::Serialize;
use side::{Buckets, Exprs, RowHash, Scan, Side};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("source: {0}")]
    Mysql(#[from] zdm_mysql::Error),
    #[error("{}", zdm_pg::error::describe_pg_error(.0))]
    Pg(#[from] tokio_postgres::Error),
    #[error("{0}")]
    Ledger(#[from] zdm_pg::Error),
    #[error("{0}")]
    Refused(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Differing buckets whose rows are fetched and compared together.
const ROW_GROUP_BUCKETS: usize = 16;

/// How names on the source map to the target (a move's plan), by default the same names.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// source table → (target table, source column → target column)
    pub tables: BTreeMap<String, (String, BTreeMap<String, String>)>,
}

#[derive(Clone)]
pub struct Options {
    pub tables: Vec<String>,
    pub key: Option<Vec<String>>,
    /// Columns whose values are never shown (`table.column` or `column`).
    pub sensitive: Vec<String>,
    /// Times differing buckets are checked again before rows are compared.
    pub rechecks: u32,
    pub recheck_wait: Duration,
    pub parallel: usize,
    /// At most this many differences are listed per table (all are counted).
    pub max_listed: usize,
    pub mapping: Option<Mapping>,
    pub throttle: throttle::Throttle,
    /// Told of each table's progress through its first pass.
    pub progress: Option<Progress>,
}

/// `(table, source rows hashed so far, the source's row estimate)`.
pub type Progress = std::sync::Arc<dyn Fn(&str, i64, i64) + Send + Sync>;

impl Default for Options {
    fn default() -> Self {
        Options {
            tables: vec![],
            key: None,
            sensitive: vec![],
            rechecks: 0,
            recheck_wait: Duration::from_millis(500),
            parallel: 4,
            max_listed: 1000,
            mapping: None,
            throttle: Default::default(),
            progress: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    pub key: BTreeMap<String, String>,
    /// `missing` (on the target), `extra` (on the target) or `changed`.
    pub kind: &'static str,
    pub columns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<BTreeMap<String, Option<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<BTreeMap<String, Option<String>>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    pub name: String,
    pub target_name: String,
    pub source_rows: i64,
    pub target_rows: i64,
    pub segments: usize,
    pub segments_differing: usize,
    pub seconds: f64,
    pub difference_count: usize,
    pub differences: Vec<Difference>,
    /// Columns left out of the comparison, with why.
    pub skipped_columns: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub equal: bool,
    pub source: String,
    pub target: String,
    pub seconds: f64,
    pub rows_per_second: f64,
    /// Time the throttle held the scans back (pauses, replica lag).
    pub throttled_seconds: f64,
    /// Times a replica's lag made the scan wait.
    pub replica_waits: u64,
    pub tables: Vec<TableReport>,
}

/// Something to await before re-checking differing buckets.
pub type Wait =
    std::sync::Arc<dyn Fn() -> futures_util::future::BoxFuture<'static, ()> + Send + Sync>;

struct Plan {
    name: String,
    target_name: String,
    key_names: Vec<String>,
    columns: Vec<String>,
    forms: Vec<Form>,
    src: Exprs,
    dst: Exprs,
    skipped: Vec<String>,
}

fn build_plan(
    source: &Side,
    target: &Side,
    s: &side::TableInfo,
    t: &side::TableInfo,
    opts: &Options,
    colmap: Option<&BTreeMap<String, String>>,
    hash: RowHash,
) -> Result<Plan> {
    let key: Vec<String> = opts.key.clone().unwrap_or_else(|| s.key.clone());
    if key.is_empty() {
        return Err(Error::Refused(format!(
            "{}: no primary key on the source: name one with --key",
            s.name
        )));
    }
    let target_col = |c: &str| -> Option<&(String, canon::ColType)> {
        let want = colmap
            .and_then(|m| m.get(c))
            .cloned()
            .unwrap_or_else(|| c.to_string());
        t.columns.iter().find(|(n, _)| *n == want).or_else(|| {
            t.columns
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&want))
        })
    };
    let mut columns = Vec::new();
    let mut forms = Vec::new();
    let mut src_cols = Vec::new();
    let mut dst_cols = Vec::new();
    let mut skipped = Vec::new();
    let mut key_src = Vec::new();
    let mut key_dst = Vec::new();
    let mut int_key = None;
    // PostgreSQL on both sides: per column a typed hash (see `canon::pg_column_hash`).
    let mut src_hashes = Vec::new();
    let mut dst_hashes = Vec::new();
    let mut src_never_null = Vec::new();
    let mut dst_never_null = Vec::new();
    for k in &key {
        let (_, st) = s
            .columns
            .iter()
            .find(|(n, _)| n == k)
            .ok_or_else(|| Error::Refused(format!("{}: no key column {k}", s.name)))?;
        let (tn, tt) = target_col(k).ok_or_else(|| {
            Error::Refused(format!(
                "{}: key column {k} is missing on the target",
                s.name
            ))
        })?;
        let form = pair_form(st, tt).map_err(|e| Error::Refused(format!("{}.{k}: {e}", s.name)))?;
        key_src.push(expr(form, st, &source.quote(k), st.scale == tt.scale));
        key_dst.push(expr(form, tt, &target.quote(tn), st.scale == tt.scale));
        let integer = |t: &canon::ColType| {
            matches!(
                t.data_type.as_str(),
                "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint"
            ) || (t.data_type == "numeric" && t.scale == Some(0))
        };
        if key.len() == 1
            && matches!(form, Form::Number | Form::Native)
            && integer(st)
            && integer(tt)
        {
            int_key = Some((source.quote(k), target.quote(tn)));
        }
    }
    for (name, st) in &s.columns {
        let Some((tn, tt)) = target_col(name) else {
            skipped.push(format!("{name}: not on the target"));
            continue;
        };
        // jsonb prints canonically already: PostgreSQL on both sides compares it in SQL.
        let both_jsonb = st.data_type == "jsonb" && tt.data_type == "jsonb";
        match pair_form(st, tt).map(|f| if both_jsonb { Form::Text } else { f }) {
            Ok(form) => {
                let (sq, tq) = (source.quote(name), target.quote(tn));
                let (se, te) = (
                    expr(form, st, &sq, st.scale == tt.scale),
                    expr(form, tt, &tq, st.scale == tt.scale),
                );
                if form != Form::Json {
                    let i = columns.len();
                    src_hashes.push(canon::pg_column_hash(form, st, &sq, &se, i));
                    dst_hashes.push(canon::pg_column_hash(form, tt, &tq, &te, i));
                }
                columns.push(name.clone());
                forms.push(form);
                src_cols.push(se);
                dst_cols.push(te);
                src_never_null.push(canon::never_null(form, st));
                dst_never_null.push(canon::never_null(form, tt));
            }
            Err(e) => skipped.push(format!("{name}: {e}")),
        }
    }
    let row = |side: &Side, cols: &[String], never_null: &[bool]| {
        let (values, nn): (Vec<String>, Vec<bool>) = cols
            .iter()
            .zip(&forms)
            .zip(never_null)
            .filter(|((_, f), _)| **f != Form::Json)
            .map(|((c, _), n)| (c.clone(), *n))
            .unzip();
        canon::row_text_of(side.engine(), &values, &nn)
    };
    let json: Vec<usize> = forms
        .iter()
        .enumerate()
        .filter(|(_, f)| **f == Form::Json)
        .map(|(i, _)| i)
        .collect();
    let key_in_row = key.iter().all(|k| {
        columns
            .iter()
            .zip(&forms)
            .any(|(c, f)| c == k && *f != Form::Json)
    });
    Ok(Plan {
        name: s.name.clone(),
        target_name: t.name.clone(),
        key_names: key.clone(),
        src: Exprs {
            table: s.name.clone(),
            key: row_text(source.engine(), &key_src),
            row: row(source, &src_cols, &src_never_null),
            columns: src_cols.clone(),
            json: json.clone(),
            int_key: int_key.as_ref().map(|k| k.0.clone()),
            hash,
            pg_row_hash: xor(&src_hashes),
            key_in_row,
        },
        dst: Exprs {
            table: t.name.clone(),
            key: row_text(target.engine(), &key_dst),
            row: row(target, &dst_cols, &dst_never_null),
            columns: dst_cols,
            json,
            int_key: int_key.map(|k| k.1),
            hash,
            pg_row_hash: xor(&dst_hashes),
            key_in_row,
        },
        columns,
        forms,
        skipped,
    })
}

/// The XOR of column hashes (`0` for a row without compared columns).
fn xor(hashes: &[String]) -> String {
    if hashes.is_empty() {
        "0::int8".into()
    } else {
        format!("({})", hashes.join(" # "))
    }
}

fn differing(a: &Buckets, b: &Buckets) -> Vec<String> {
    let mut out: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A key text back into its values (`None` for NULL).
pub fn split_pieces(text: &str) -> Vec<Option<String>> {
    text.split(canon::END)
        .map(|p| {
            if p == canon::NULL_MARK.to_string() {
                None
            } else {
                Some(p.to_string())
            }
        })
        .collect()
}

/// The differing rows of `buckets`, each with its key text.
async fn compare_rows(
    source: &Side,
    target: &Side,
    p: &Plan,
    opts: &Options,
    group: &[String],
) -> Result<Vec<(String, Difference)>> {
    let mut out = Vec::new();
    let (ra, rb) = tokio::try_join!(
        source.rows(&p.src, Some(group)),
        target.rows(&p.dst, Some(group))
    )?;
    let mut tmap: HashMap<String, Vec<Option<String>>> = rb.into_iter().collect();
    let sensitive = |c: &str| {
        opts.sensitive
            .iter()
            .any(|s| s == c || *s == format!("{}.{c}", p.name))
    };
    let show = |vals: &[Option<String>], cols: &[usize]| -> BTreeMap<String, Option<String>> {
        cols.iter()
            .map(|&i| {
                (
                    p.columns[i].clone(),
                    if sensitive(&p.columns[i]) {
                        Some("***".into())
                    } else {
                        vals[i].clone()
                    },
                )
            })
            .collect()
    };
    let key_of = |k: &str| -> BTreeMap<String, String> {
        p.key_names
            .iter()
            .cloned()
            .zip(
                split_pieces(k)
                    .into_iter()
                    .map(|v| v.unwrap_or_else(|| "NULL".into())),
            )
            .collect()
    };
    let mut push = |k: &str, d: Difference| out.push((k.to_string(), d));
    let mut entries: Vec<(String, Vec<Option<String>>)> = ra;
    entries.sort_by(|x, y| x.0.cmp(&y.0));
    for (k, sv) in entries {
        match tmap.remove(&k) {
            None => push(
                &k,
                Difference {
                    key: key_of(&k),
                    kind: "missing",
                    columns: vec![],
                    source: None,
                    target: None,
                },
            ),
            Some(tv) => {
                let changed: Vec<usize> = (0..p.columns.len())
                    .filter(|&i| {
                        if p.forms[i] == Form::Json {
                            sv[i].as_deref().map(canon::canonical_json)
                                != tv[i].as_deref().map(canon::canonical_json)
                        } else {
                            sv[i] != tv[i]
                        }
                    })
                    .collect();
                if !changed.is_empty() {
                    push(
                        &k,
                        Difference {
                            key: key_of(&k),
                            kind: "changed",
                            columns: changed.iter().map(|&i| p.columns[i].clone()).collect(),
                            source: Some(show(&sv, &changed)),
                            target: Some(show(&tv, &changed)),
                        },
                    );
                }
            }
        }
    }
    let mut extra: Vec<String> = tmap.into_keys().collect();
    extra.sort();
    for k in extra {
        push(
            &k,
            Difference {
                key: key_of(&k),
                kind: "extra",
                columns: vec![],
                source: None,
                target: None,
            },
        );
    }
    Ok(out)
}

async fn verify_table(
    source: &Side,
    target: &Side,
    p: Plan,
    opts: &Options,
    wait: Option<Wait>,
) -> Result<TableReport> {
    let began = Instant::now();
    let estimate = match &opts.progress {
        Some(_) => source.estimate_rows(&p.name).await.unwrap_or(0),
        None => 0,
    };
    let report = |done: i64| {
        if let Some(f) = &opts.progress {
            f(&p.name, done, estimate);
        }
    };
    report(0);
    let first = Scan {
        throttle: &opts.throttle,
        progress: Some(&report),
    };
    let quiet = Scan {
        throttle: &opts.throttle,
        progress: None,
    };
    let (a, b) = if p.src.hash == RowHash::PgHashtext && source.same_pg_server(target) {
        let a = source.buckets(&p.src, None, &first).await?;
        (a, target.buckets(&p.dst, None, &quiet).await?)
    } else {
        tokio::try_join!(
            source.buckets(&p.src, None, &first),
            target.buckets(&p.dst, None, &quiet)
        )?
    };
    let source_rows = a.values().map(|v| v.0).sum();
    let target_rows = b.values().map(|v| v.0).sum();
    let segments = a.len().max(b.len());
    let mut diff = differing(&a, &b);
    for _ in 0..opts.rechecks {
        if diff.is_empty() {
            break;
        }
        match &wait {
            Some(w) => w().await,
            None => tokio::time::sleep(opts.recheck_wait).await,
        }
        let (a2, b2) = tokio::try_join!(
            source.buckets(&p.src, Some(&diff), &quiet),
            target.buckets(&p.dst, Some(&diff), &quiet)
        )?;
        diff = differing(&a2, &b2);
    }
    let mut differences = Vec::new();
    let mut count = 0;
    // Rows of differing buckets are fetched a few buckets at a time: memory stays bounded by
    // that group's rows even when a whole table differs.
    for group in diff.chunks(ROW_GROUP_BUCKETS) {
        let mut found = compare_rows(source, target, &p, opts, group).await?;
        // Online, a row written between the reads of the two sides differs for a moment, even
        // in a bucket that differs for good: rows are compared again once the stream has
        // caught up, and only what still differs (as it is then) is reported.
        for _ in 0..opts.rechecks {
            if found.is_empty() {
                break;
            }
            match &wait {
                Some(w) => w().await,
                None => tokio::time::sleep(opts.recheck_wait).await,
            }
            let mut buckets: Vec<String> = found
                .iter()
                .map(|(k, _)| side::bucket_of(k, p.src.int_key.is_some()))
                .collect();
            buckets.sort();
            buckets.dedup();
            let again: HashMap<String, Difference> =
                compare_rows(source, target, &p, opts, &buckets)
                    .await?
                    .into_iter()
                    .collect();
            let before = found.len();
            found = found
                .into_iter()
                .filter_map(|(k, _)| again.get(&k).map(|d| (k, d.clone())))
                .collect();
            if found.len() == before {
                break;
            }
        }
        for (_, d) in found {
            count += 1;
            if differences.len() < opts.max_listed {
                differences.push(d);
            }
        }
    }
    Ok(TableReport {
        name: p.name,
        target_name: p.target_name,
        source_rows,
        target_rows,
        segments,
        segments_differing: diff.len(),
        seconds: began.elapsed().as_secs_f64(),
        difference_count: count,
        differences,
        skipped_columns: p.skipped,
    })
}

/// The cheapest row hash both sides can compute identically.
async fn row_hash(source: &Side, target: &Side) -> Result<RowHash> {
    use canon::Engine::Postgres;
    if source.engine() == Postgres && target.engine() == Postgres {
        return Ok(RowHash::PgHashtext);
    }
    Ok(match tokio::try_join!(source.crc64(), target.crc64())? {
        (Some(RowHash::Crc64 { one_pass: a }), Some(RowHash::Crc64 { one_pass: b })) => {
            RowHash::Crc64 { one_pass: a && b }
        }
        _ => RowHash::Md5,
    })
}

/// Compares the tables of `source` and `target`.
pub async fn verify(
    source: &Side,
    target: &Side,
    opts: &Options,
    wait: Option<Wait>,
) -> Result<Report> {
    let began = Instant::now();
    let (st, tt) = tokio::try_join!(source.tables(), target.tables())?;
    let hash = row_hash(source, target).await?;
    tracing::info!(?hash, "row hash");
    let mut plans = Vec::new();
    for s in &st {
        if !opts.tables.is_empty() && !opts.tables.iter().any(|n| n == &s.name) {
            continue;
        }
        let (tname, colmap) = match opts.mapping.as_ref().map(|m| m.tables.get(&s.name)) {
            Some(Some((t, cols))) => (t.clone(), Some(cols)),
            Some(None) => continue,
            None => (s.name.clone(), None),
        };
        let Some(t) = tt
            .iter()
            .find(|t| t.name == tname)
            .or_else(|| tt.iter().find(|t| t.name.eq_ignore_ascii_case(&tname)))
        else {
            return Err(Error::Refused(format!(
                "table {} is not on the target",
                s.name
            )));
        };
        plans.push(build_plan(source, target, s, t, opts, colmap, hash)?);
    }
    for n in &opts.tables {
        if !st.iter().any(|s| &s.name == n) {
            return Err(Error::Refused(format!("no table {n} on the source")));
        }
    }
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(opts.parallel.max(1)));
    let mut tasks = Vec::new();
    for p in plans {
        let (source, target, opts, wait, sem) = (
            source.clone(),
            target.clone(),
            opts.clone(),
            wait.clone(),
            sem.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await;
            verify_table(&source, &target, p, &opts, wait).await
        }));
    }
    let mut tables = Vec::new();
    for t in tasks {
        tables.push(
            t.await
                .map_err(|e| Error::Refused(format!("verify task failed: {e}")))??,
        );
    }
    let seconds = began.elapsed().as_secs_f64();
    let rows: i64 = tables
        .iter()
        .map(|t| t.source_rows.max(t.target_rows))
        .sum();
    Ok(Report {
        equal: tables
            .iter()
            .all(|t| t.difference_count == 0 && t.segments_differing == 0),
        source: source.describe(),
        target: target.describe(),
        seconds,
        rows_per_second: rows as f64 / seconds.max(1e-9),
        throttled_seconds: opts.throttle.throttled().as_secs_f64(),
        replica_waits: opts.throttle.lag_waits(),
        tables,
    })
}

#[cfg(test)]
mod tests {
    use super::split_pieces;

    #[test]
    fn key_texts_split_into_values() {
        assert_eq!(
            split_pieces("a|b\u{1f}\u{1e}\u{1f}"),
            vec![Some("a|b".to_string()), None, Some(String::new())]
        );
    }
}
