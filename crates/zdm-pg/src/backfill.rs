//! Backfill: fill the helper columns of existing rows, in batches, without getting in the
//! application's way.
//!
//! * Keyset batches on the primary key (or a unique NOT NULL key; `ctid` page ranges when there is
//!   none), each batch one short transaction that also checkpoints the cursor in the ledger, so a
//!   killed or failed backfill resumes where it stopped.
//! * A batch is an `UPDATE` setting the helper columns with the migration's `up` SQL, the same
//!   assignments the dual-write trigger makes for the old version's writes; the batch's
//!   transaction sets `zdm.backfill`, which the trigger's WHEN clause skips, so rows cost plain
//!   SQL rather than a PL/pgSQL call each.
//! * Rows whose `xmin` is newer than the expand transaction were written after the trigger existed
//!   and are already correct: they are skipped, not redone.
//! * The batch size adapts to a target batch duration (row locks are held that long at most).

use crate::error::{Error, Result};
use crate::executor::{in_transaction_from, with_lock_retry, RetryError, RetryLog};
use crate::ledger::events::{EventLevel, NewEvent};
use crate::runner::Session;
use std::time::{Duration, Instant};
use zdm_core::ident::{quote_ident, quote_qualified};
use zdm_core::planner::Backfill;
use zdm_core::state::Phase;

#[derive(Debug, Clone)]
pub struct BackfillConfig {
    /// Aim for batches this long: concurrent writers wait at most about this on a batch's rows.
    pub target_batch: Duration,
    pub initial_rows: i64,
    pub max_rows: i64,
    /// Pause between batches (throttle).
    pub delay: Duration,
    /// What else holds the batches back (replica lag, flag file, query, `zdm throttle`).
    pub throttle: crate::throttle::ThrottleConfig,
    /// While the application is busy (other sessions of the database active within the last
    /// second): the batch statements aim for this instead (shorter row-lock holds, and less
    /// WAL for the application's commits to flush with theirs) …
    pub busy_target_batch: Duration,
    /// … and after each batch the backfill rests this many times the batch's duration, so the
    /// application keeps most of the machine (gh-ost's nice ratio). 0 turns yielding off.
    pub busy_nice: f64,
}

/// The least rows a batch takes while the application is busy.
const BUSY_MIN_ROWS: i64 = 100;

impl Default for BackfillConfig {
    fn default() -> Self {
        BackfillConfig {
            target_batch: Duration::from_millis(40),
            initial_rows: 2000,
            max_rows: 20_000,
            delay: Duration::ZERO,
            throttle: Default::default(),
            busy_target_batch: Duration::from_micros(1500),
            busy_nice: 1.0,
        }
    }
}

/// Told about progress (the CLI draws a progress bar).
pub trait BackfillObserver: Send + Sync {
    fn begin(&self, table: &str, done: u64, total_estimate: Option<u64>);
    fn batch(&self, table: &str, done: u64, batch_rows: u64);
    fn end(&self, table: &str, done: u64);
    /// The backfill waits (`Some(cause)`) or goes on again (`None`).
    fn throttled(&self, _table: &str, _cause: Option<&str>) {}
}

/// An observer that reports nothing.
pub struct Quiet;

impl BackfillObserver for Quiet {
    fn begin(&self, _: &str, _: u64, _: Option<u64>) {}
    fn batch(&self, _: &str, _: u64, _: u64) {}
    fn end(&self, _: &str, _: u64) {}
}

/// Upper bounds (seconds) of the batch-duration histogram's buckets; the ledger stores one count
/// per bucket plus one for longer batches (`backfill_progress.batch_buckets`).
pub const BATCH_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Why a backfill waited instead of working (`throttled_seconds` keys, the metric's `cause`).
pub const THROTTLE_DELAY: &str = "delay";
/// Throttle cause: resting after a batch while the application is busy.
pub const THROTTLE_LOAD: &str = "load";

struct Cursor {
    last_key: Option<serde_json::Value>,
    rows_done: i64,
    finished: bool,
    stats: BatchStats,
}

/// What the ledger keeps about a table's batches for the metrics: counts, not samples.
#[derive(Debug, Default, Clone)]
struct BatchStats {
    batches: i64,
    seconds: f64,
    buckets: Vec<i64>,
    throttled: serde_json::Map<String, serde_json::Value>,
    rows_per_second: Option<f64>,
}

impl BatchStats {
    fn record(&mut self, took: Duration) {
        let secs = took.as_secs_f64();
        self.batches += 1;
        self.seconds += secs;
        self.buckets.resize(BATCH_BUCKETS.len() + 1, 0);
        let i = BATCH_BUCKETS
            .iter()
            .position(|le| secs <= *le)
            .unwrap_or(BATCH_BUCKETS.len());
        self.buckets[i] += 1;
    }

    fn throttled(&mut self, cause: &str, waited: Duration) {
        let before = self
            .throttled
            .get(cause)
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0);
        self.throttled.insert(
            cause.to_string(),
            serde_json::json!(before + waited.as_secs_f64()),
        );
    }

    /// Rows per second of wall time (pauses included), smoothed so one slow batch does not
    /// swing the ETA.
    fn rate(&mut self, rows: i64, wall: Duration) {
        let now = rows as f64 / wall.as_secs_f64().max(0.001);
        self.rows_per_second = Some(match self.rows_per_second {
            Some(r) => 0.7 * r + 0.3 * now,
            None => now,
        });
    }
}

async fn load_cursor(session: &Session, id: &str, table: &str) -> Result<Cursor> {
    let row = session
        .client
        .query_opt(
            &session.ledger.sql("SELECT last_key, rows_done, finished, batches, batch_seconds, batch_buckets, throttled_seconds, rows_per_second FROM {s}.backfill_progress WHERE migration_id = $1 AND table_name = $2"),
            &[&id, &table],
        )
        .await?;
    Ok(match row {
        Some(r) => Cursor {
            last_key: r.get(0),
            rows_done: r.get(1),
            finished: r.get(2),
            stats: BatchStats {
                batches: r.get(3),
                seconds: r.get(4),
                buckets: r.get(5),
                throttled: match r.get::<_, serde_json::Value>(6) {
                    serde_json::Value::Object(m) => m,
                    _ => Default::default(),
                },
                rows_per_second: r.get(7),
            },
        },
        None => Cursor {
            last_key: None,
            rows_done: 0,
            finished: false,
            stats: BatchStats::default(),
        },
    })
}

/// Fill `bf.table` for migration `id`. `xid` is the expand transaction's id: rows written after
/// it are skipped.
pub async fn run(
    session: &Session,
    id: &str,
    schema: &str,
    bf: &Backfill,
    xid: &str,
    cfg: &BackfillConfig,
    observer: &dyn BackfillObserver,
) -> Result<u64> {
    let c = &session.client;
    let cursor = load_cursor(session, id, &bf.table).await?;
    if cursor.finished {
        return Ok(cursor.rows_done as u64);
    }
    let qt = quote_qualified(schema, &bf.table);
    let estimate: Option<f32> = c
        .query_one(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)",
            &[&qt],
        )
        .await?
        .get(0);
    let total = match estimate.filter(|e| *e >= 0.0) {
        Some(e) => Some(e as u64),
        None => unanalyzed_estimate(c, &qt).await?,
    };
    observer.begin(&bf.table, cursor.rows_done as u64, total);

    let key_types: Vec<String> = match &bf.key {
        Some(key) => {
            let mut types = Vec::new();
            for k in key {
                let t: String = c
                    .query_one(
                        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2",
                        &[&qt, k],
                    )
                    .await?
                    .get(0);
                types.push(t);
            }
            types
        }
        None => Vec::new(),
    };
    let keyset = bf
        .key
        .as_ref()
        .map(|key| Keyset::new(&qt, key, &key_types, &bf.set));
    let stop = match &keyset {
        Some(ks) => ks.stop(c).await?,
        None => None,
    };
    let batch_sql = match &bf.key {
        Some(_) => String::new(),
        None => {
            let first: String = c
                .query_one(
                    "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum LIMIT 1",
                    &[&qt],
                )
                .await?
                .get(0);
            ctid_sql(&qt, &first, &bf.set)
        }
    };
    // Marks the batch's transaction so the dual-write trigger's WHEN clause skips it: the batch
    // computes the same assignments itself.
    let begin_batch = format!(
        "BEGIN; SET LOCAL {} = 'on'",
        zdm_core::planner::triggers::BACKFILL_SETTING
    );
    let progress_sql = session.ledger.sql(
        "INSERT INTO {s}.backfill_progress (migration_id, table_name, last_key, rows_done, rows_total, finished, \
         started_at, batches, batch_seconds, batch_buckets, throttled_seconds, rows_per_second) \
         VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp(), $7, $8, $9, $10, $11) ON CONFLICT (migration_id, table_name) DO UPDATE SET \
         last_key = EXCLUDED.last_key, rows_done = EXCLUDED.rows_done, rows_total = EXCLUDED.rows_total, \
         finished = EXCLUDED.finished, batches = EXCLUDED.batches, batch_seconds = EXCLUDED.batch_seconds, \
         batch_buckets = EXCLUDED.batch_buckets, throttled_seconds = EXCLUDED.throttled_seconds, \
         rows_per_second = EXCLUDED.rows_per_second, updated_at = clock_timestamp()",
    );
    let relpages: i64 = if bf.key.is_none() {
        c.query_one("SELECT (pg_relation_size(to_regclass($1)) / current_setting('block_size')::int)::bigint", &[&qt]).await?.get(0)
    } else {
        0
    };

    let mut last_key = cursor.last_key;
    let mut done = cursor.rows_done;
    let mut stats = cursor.stats;
    let mut since_last = Instant::now();
    let mut rows = cfg.initial_rows.max(1);
    let total_i = total.map(|t| t as i64);
    let log = RetryLog {
        ledger: &session.ledger,
        client: c,
        migration_id: id,
        phase: Phase::Backfill,
    };
    let mut throttler = crate::throttle::Throttler::new(cfg.throttle.clone());
    let mut busy = BusyCheck::default();
    loop {
        hold_back(session, id, &bf.table, &mut throttler, &mut stats, observer).await?;
        let began = Instant::now();
        let key_param = last_key.clone().unwrap_or(serde_json::Value::Null);
        let outcome = with_lock_retry(
            &session.policy,
            &log,
            &format!("backfill batch of {}", bf.table),
            || async {
                in_transaction_from(c, &begin_batch, async {
                    let work_began = Instant::now();
                    let (updated, next, end) = if bf.key.is_some() {
                        let keys: Option<Vec<String>> = key_param.as_array().map(|a| {
                            a.iter()
                                .map(|v| v.as_str().unwrap_or_default().to_string())
                                .collect()
                        });
                        let ks = keyset.as_ref().expect("keyed backfill");
                        // The batch's upper key first (an index-only walk), then one UPDATE over
                        // the key range: a range scan, no join against a key list.
                        let upper: Option<Vec<String>> = c
                            .query_opt(&ks.upper, &[&keys, &rows, &stop])
                            .await?
                            .map(|r| r.get(0));
                        let updated: i64 = match &upper {
                            Some(u) => c.query_one(&ks.bounded, &[&keys, &xid, u]).await?,
                            None => c.query_one(&ks.unbounded, &[&keys, &xid, &stop]).await?,
                        }
                        .get(0);
                        let seen = if upper.is_some() { rows } else { 0 };
                        let next = upper
                            .map(|l| serde_json::json!(l))
                            .or(key_param.clone().as_array().map(|_| key_param.clone()));
                        (updated, next, seen < rows)
                    } else {
                        let from = key_param.as_i64().unwrap_or(0);
                        let pages = (rows / 50).max(1);
                        let r = c
                            .query_one(&batch_sql, &[&from, &(from + pages), &xid])
                            .await?;
                        let updated: i64 = r.get(0);
                        (
                            updated,
                            Some(serde_json::json!(from + pages)),
                            from + pages > relpages,
                        )
                    };
                    let work = work_began.elapsed();
                    let done_now = done + updated;
                    // The stats as they are once this batch commits (a retried attempt starts
                    // again from the committed ones).
                    let mut s = stats.clone();
                    s.record(began.elapsed());
                    s.rate(updated, since_last.elapsed());
                    let throttled = serde_json::Value::Object(s.throttled.clone());
                    c.execute(
                        &progress_sql,
                        &[
                            &id,
                            &bf.table,
                            &next,
                            &done_now,
                            &total_i,
                            &end,
                            &s.batches,
                            &s.seconds,
                            &s.buckets,
                            &throttled,
                            &s.rows_per_second,
                        ],
                    )
                    .await?;
                    crate::failpoint::hit("backfill.batch_uncommitted");
                    Ok::<_, tokio_postgres::Error>((updated, next, end, s, work))
                })
                .await
            },
        )
        .await;
        let (updated, next, end, committed, work) = match outcome {
            Ok(v) => v,
            Err(RetryError::Failed(e)) | Err(RetryError::Exhausted { last: e, .. }) => {
                return Err(e.into())
            }
            Err(RetryError::Ledger(e)) => return Err(e),
        };
        crate::failpoint::hit("backfill.batch_done");
        done += updated;
        last_key = next;
        stats = committed;
        since_last = Instant::now();
        observer.batch(&bf.table, done as u64, updated as u64);
        if end {
            break;
        }
        // Adapt the batch to the target duration, changing by at most 2x per batch; yield to a
        // busy application.
        let took = began.elapsed();
        let busy = cfg.busy_nice > 0.0 && busy.get(c).await?;
        let target = if busy {
            cfg.target_batch.min(cfg.busy_target_batch)
        } else {
            cfg.target_batch
        };
        if busy {
            let rest = took.mul_f64(cfg.busy_nice);
            tokio::time::sleep(rest).await;
            stats.throttled(THROTTLE_LOAD, rest);
        }
        // Sized by the statements' own time: round trips hold no locks and write no WAL, and
        // counting them would shrink batches to nothing when the server is far away or busy.
        let work = work.as_secs_f64().max(0.0005);
        let factor = (target.as_secs_f64() / work).clamp(0.5, 2.0);
        // Beside a busy application batches stay short, but not so short that round trips
        // are all they do.
        let floor = if busy { BUSY_MIN_ROWS } else { 10 }.min(cfg.max_rows);
        rows = ((rows as f64 * factor) as i64).clamp(floor, cfg.max_rows);
        if !cfg.delay.is_zero() {
            tokio::time::sleep(cfg.delay).await;
            stats.throttled(THROTTLE_DELAY, cfg.delay);
        }
    }
    observer.end(&bf.table, done as u64);
    Ok(done as u64)
}

/// Wait while the throttler gives a cause; each episode is logged (begin and end, with its
/// cause) and its time counted under the cause.
async fn hold_back(
    session: &Session,
    id: &str,
    table: &str,
    throttler: &mut crate::throttle::Throttler,
    stats: &mut BatchStats,
    observer: &dyn BackfillObserver,
) -> Result<()> {
    let c = &session.client;
    let mut episode: Option<(crate::throttle::Cause, Instant)> = None;
    while let Some(cause) = throttler.cause(c, &session.ledger).await? {
        if episode.as_ref().is_none_or(|(e, _)| e.key != cause.key) {
            if let Some((ended, since)) = episode.take() {
                stats.throttled(ended.key, since.elapsed());
            }
            session
                .ledger
                .event(
                    c,
                    NewEvent::new(
                        id,
                        Phase::Backfill,
                        EventLevel::Warn,
                        format!("backfill of {table} throttled: {}", cause.detail),
                    )
                    .details(serde_json::json!({ "cause": cause.key })),
                )
                .await?;
            observer.throttled(table, Some(&cause.detail));
            episode = Some((cause, Instant::now()));
        }
        tokio::time::sleep(throttler.interval()).await;
    }
    if let Some((ended, since)) = episode {
        stats.throttled(ended.key, since.elapsed());
        session
            .ledger
            .event(
                c,
                NewEvent::new(
                    id,
                    Phase::Backfill,
                    EventLevel::Info,
                    format!(
                        "backfill of {table} goes on after {:.1}s throttled ({})",
                        since.elapsed().as_secs_f64(),
                        ended.key
                    ),
                ),
            )
            .await?;
        observer.throttled(table, None);
    }
    Ok(())
}

/// [`application_busy`], asked again at most every 100 ms (it looks a second back anyway).
#[derive(Default)]
struct BusyCheck {
    last: Option<(Instant, bool)>,
}

impl BusyCheck {
    async fn get(&mut self, c: &tokio_postgres::Client) -> Result<bool> {
        match self.last {
            Some((at, busy)) if at.elapsed() < Duration::from_millis(100) => Ok(busy),
            _ => {
                let busy = application_busy(c).await?;
                self.last = Some((Instant::now(), busy));
                Ok(busy)
            }
        }
    }
}

/// Whether other sessions of this database ran statements within the last second (or run one
/// now): the application is at work, and the backfill yields to it.
pub(crate) async fn application_busy(
    c: &tokio_postgres::Client,
) -> std::result::Result<bool, tokio_postgres::Error> {
    Ok(c
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE datid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND application_name NOT LIKE 'zdm%' \
               AND (state = 'active' OR state_change > clock_timestamp() - interval '1 second'))",
            &[],
        )
        .await?
        .get(0))
}

/// A row estimate for a table never analyzed (`reltuples` -1, common right after a bulk load):
/// small tables are counted, large ones sampled (1 % of their pages), never a full scan of a
/// big table just for a progress bar.
async fn unanalyzed_estimate(c: &tokio_postgres::Client, qt: &str) -> Result<Option<u64>> {
    let pages: i64 = c
        .query_one(
            "SELECT (pg_relation_size(to_regclass($1)) / current_setting('block_size')::int)::bigint",
            &[&qt],
        )
        .await?
        .get(0);
    let sql = if pages <= 1000 {
        format!("SELECT count(*) FROM {qt}")
    } else {
        format!("SELECT count(*) * 100 FROM {qt} TABLESAMPLE SYSTEM (1)")
    };
    let n: i64 = c.query_one(&sql, &[]).await?.get(0);
    Ok(Some(n.max(0) as u64))
}

/// The newest transaction id whose rows the backfill must still compute itself.
///
/// Not the expand's own id: a statement that was queued behind the expand's lock can commit
/// right after it without the dual-write trigger's effect (seen under load: its row kept a NULL
/// helper value and the expand's xid + 1). So the threshold is taken here, after the expand,
/// as the newest id handed out so far, once every transaction holding an id then has ended:
/// rows of any transaction up to it are redone (the same `up` result), later ones skipped.
pub async fn skip_threshold(c: &tokio_postgres::Client) -> Result<String> {
    let row = c
        .query_one(
            "SELECT ((pg_snapshot_xmax(s)::text::bigint - 1)::text::xid8)::xid::text, \
                    ARRAY(SELECT pg_snapshot_xip(s)::text) \
               FROM (SELECT pg_current_snapshot() AS s) snap",
            &[],
        )
        .await?;
    let threshold: String = row.get(0);
    let running: Vec<String> = row.get(1);
    // Wait (bounded) for those transactions to end; their rows are then visible to the batches.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !running.is_empty() && Instant::now() < deadline {
        let busy: bool = c
            .query_one(
                "SELECT coalesce(bool_or(pg_xact_status(x::xid8) = 'in progress'), false) \
                   FROM unnest($1::text[]) x",
                &[&running],
            )
            .await?
            .get(0);
        if !busy {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(threshold)
}

/// The SET list of a batch: the plan's assignments, or a no-op that fires the trigger (plans
/// stored before the assignments existed).
fn set_list(set: &[String], noop_column: &str) -> String {
    if set.is_empty() {
        let c = quote_ident(noop_column);
        format!("{c} = {c}")
    } else {
        set.join(", ")
    }
}

/// The statements of a keyed batch. `$1` is the previous batch's upper key (`text[]`, NULL
/// for the first batch), each element cast back to its column's type.
struct Keyset {
    /// The key of the batch's last row: the `$2`-th key after `$1` (none: the final batch).
    upper: String,
    /// UPDATE of the rows after `$1` up to `$3`, skipping rows newer than the expand (`$2` xid).
    bounded: String,
    /// The final batch: every row after `$1` up to `$3` (the stop key).
    unbounded: String,
    /// The table's greatest key now: where the walk stops (see [`Keyset::stop`]).
    last: String,
}

impl Keyset {
    fn new(qt: &str, key: &[String], types: &[String], set: &[String]) -> Keyset {
        let list = |f: &dyn Fn(usize, &String) -> String| {
            key.iter()
                .enumerate()
                .map(|(i, k)| f(i, k))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let cols = list(&|_, k| quote_ident(k));
        let param = |n: usize| list(&|i, _| format!("(${n}::text[])[{}]::{}", i + 1, types[i]));
        let as_text = list(&|_, k| format!("{}::text", quote_ident(k)));
        let after =
            format!("(${{n}}::text[] IS NULL OR ({cols}) > ({}))", param(1)).replace("${n}", "$1");
        let set = set_list(set, &key[0]);
        let update = |extra: &str| {
            format!(
                "WITH upd AS (UPDATE {qt} SET {set} WHERE {after}{extra} \
                 AND age(xmin) >= age($2::text::xid) RETURNING 1) SELECT count(*) FROM upd"
            )
        };
        let to_stop = format!("($3::text[] IS NULL OR ({cols}) <= ({}))", param(3));
        let descending = list(&|_, k| format!("{} DESC", quote_ident(k)));
        Keyset {
            upper: format!(
                "SELECT ARRAY[{as_text}] FROM {qt} WHERE {after} AND {to_stop} ORDER BY {cols} OFFSET $2::bigint - 1 LIMIT 1"
            ),
            bounded: update(&format!(" AND ({cols}) <= ({})", param(3))),
            unbounded: update(&format!(" AND {to_stop}")),
            last: format!("SELECT ARRAY[{as_text}] FROM {qt} ORDER BY {descending} LIMIT 1"),
        }
    }

    /// Where the walk stops: the greatest key once the dual-write trigger exists. Every row
    /// written without the trigger is committed by then (creating it waited for each
    /// transaction that had written the table), so rows past this key were written through
    /// it and hold their values. Without the stop, batches kept small beside a busy
    /// application could chase the application's inserts for ever. Read again on resume (the
    /// trigger still stands, so a later stop only walks further).
    async fn stop(&self, c: &tokio_postgres::Client) -> Result<Option<Vec<String>>> {
        Ok(c.query_opt(&self.last, &[]).await?.map(|r| r.get(0)))
    }
}

fn ctid_sql(qt: &str, column: &str, set: &[String]) -> String {
    let set = set_list(set, column);
    format!(
        "WITH upd AS (UPDATE {qt} t SET {set} \
                       WHERE t.ctid >= format('(%s,0)', $1::bigint)::tid AND t.ctid < format('(%s,0)', $2::bigint)::tid \
                         AND age(t.xmin) >= age($3::text::xid) RETURNING 1) \
         SELECT count(*) FROM upd"
    )
}

impl From<RetryError<tokio_postgres::Error>> for Error {
    fn from(e: RetryError<tokio_postgres::Error>) -> Self {
        match e {
            RetryError::Failed(e) | RetryError::Exhausted { last: e, .. } => e.into(),
            RetryError::Ledger(e) => e,
        }
    }
}
