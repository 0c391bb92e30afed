//! `/metrics`: a snapshot in the Prometheus text format. The names are an API (dashboards and
//! alert rules query them): `zdm_` prefix, the unit in the name, counters ending in `_total`.
//! Every family is described on every scrape, with or without series, so a dashboard's query
//! always names a metric that exists (the deploy tests check exactly that).

use crate::snapshot::Snapshot;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use std::collections::BTreeMap;
use std::sync::Arc;
use zdm_pg::backfill::BATCH_BUCKETS;

type Labels = Vec<(&'static str, String)>;

/// The migration states `zdm_migrations` always reports (zero when none), in the ledger's order.
const STATES: &[&str] = &[
    "pending",
    "running",
    "expanded",
    "completing",
    "completed",
    "rolling_back",
    "rolled_back",
    "failed",
];

const IN_FLIGHT: &[&str] = &["running", "expanded", "completing", "rolling_back"];

/// Runs made outside a move are labelled with this `job`.
pub const STANDALONE_JOB: &str = "standalone";

pub fn encode(s: &Arc<Snapshot>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Collector(s.clone())));
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry)
        .expect("writing to a String cannot fail");
    out
}

/// The content type of [`encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The collector shares the snapshot the server holds (no copy per scrape).
#[derive(Debug)]
struct Collector(Arc<Snapshot>);

enum Value {
    Gauge(f64),
    Counter(f64),
}

/// One family: its descriptor, then each series.
fn family(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<Unit>,
    kind: MetricType,
    series: Vec<(Labels, Value)>,
) -> Result<(), std::fmt::Error> {
    let mut m = enc.encode_descriptor(name, help, unit.as_ref(), kind)?;
    for (labels, value) in series {
        // A series without labels is written bare (`name 1`, not `name{} 1`).
        if labels.is_empty() {
            write_value(&mut m, value)?;
        } else {
            write_value(&mut m.encode_family(&labels)?, value)?;
        }
    }
    Ok(())
}

fn write_value(e: &mut MetricEncoder, value: Value) -> Result<(), std::fmt::Error> {
    match value {
        Value::Gauge(v) => e.encode_gauge(&v),
        Value::Counter(v) => e.encode_counter::<NoLabelSet, _, f64>(&v, None),
    }
}

fn gauge(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<Unit>,
    series: impl IntoIterator<Item = (Labels, f64)>,
) -> Result<(), std::fmt::Error> {
    let series = series.into_iter().map(|(l, v)| (l, Value::Gauge(v)));
    family(enc, name, help, unit, MetricType::Gauge, series.collect())
}

/// `name` without `_total`: the encoder appends it (after the unit).
fn counter(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<Unit>,
    series: impl IntoIterator<Item = (Labels, f64)>,
) -> Result<(), std::fmt::Error> {
    let series = series.into_iter().map(|(l, v)| (l, Value::Counter(v)));
    family(enc, name, help, unit, MetricType::Counter, series.collect())
}

/// A histogram whose counts were kept in the ledger (per bucket, not cumulative).
struct Stored<'a> {
    sum: f64,
    counts: &'a [i64],
}

impl std::fmt::Debug for Stored<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stored").field("sum", &self.sum).finish()
    }
}

impl EncodeMetric for Stored<'_> {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let mut buckets: Vec<(f64, u64)> = BATCH_BUCKETS
            .iter()
            .enumerate()
            .map(|(i, le)| (*le, self.counts.get(i).copied().unwrap_or(0).max(0) as u64))
            .collect();
        let over = self.counts.get(BATCH_BUCKETS.len()).copied().unwrap_or(0);
        buckets.push((f64::MAX, over.max(0) as u64));
        let count = buckets.iter().map(|(_, c)| c).sum();
        encoder.encode_histogram::<NoLabelSet>(self.sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// One series per moved table, labelled with its job and target table.
fn per_table<'a>(
    moves: &'a [crate::snapshot::MoveSnapshot],
    value: &'a dyn Fn(&zdm_move::job::TableProgress) -> i64,
) -> impl Iterator<Item = (Labels, f64)> + 'a {
    moves.iter().flat_map(move |m| {
        m.report.tables.iter().map(move |t| {
            (
                l(&[("move", &m.report.job), ("table", &t.target)]),
                value(t) as f64,
            )
        })
    })
}

fn l(pairs: &[(&'static str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

impl prometheus_client::collector::Collector for Collector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = &self.0;
        let enc = &mut enc;
        gauge(
            enc,
            "zdm_info",
            "The zdm build serving these metrics.",
            None,
            [(l(&[("version", s.zdm_version)]), 1.0)],
        )?;
        gauge(
            enc,
            "zdm_ledger_up",
            "1 when the ledger database answered the last read, 0 when it did not.",
            None,
            [(Vec::new(), if s.ledger_up { 1.0 } else { 0.0 })],
        )?;
        gauge(
            enc,
            "zdm_ledger_read_duration",
            "How long the last read of the ledger took.",
            Some(Unit::Seconds),
            [(Vec::new(), s.read_seconds)],
        )?;
        self.migrations(enc)?;
        self.backfills(enc)?;
        self.moves(enc)?;
        self.verify(enc)
    }
}

impl Collector {
    fn migrations(&self, enc: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = &self.0;
        let entries = s.status.as_ref().map(|r| &r.migrations[..]).unwrap_or(&[]);
        let mut by_state: BTreeMap<&str, f64> = STATES.iter().map(|st| (*st, 0.0)).collect();
        for m in entries {
            *by_state.entry(m.state.as_str()).or_default() += 1.0;
        }
        let series: Vec<_> = if s.ledger_up {
            STATES
                .iter()
                .map(|st| (l(&[("state", st)]), by_state[st]))
                .collect()
        } else {
            Vec::new()
        };
        gauge(
            enc,
            "zdm_migrations",
            "Migrations by state (pending ones when the server was given the migrations directory).",
            None,
            series,
        )?;
        gauge(
            enc,
            "zdm_migration_phase",
            "1 for each in-flight migration, labelled with its state.",
            None,
            entries
                .iter()
                .filter(|m| IN_FLIGHT.contains(&m.state.as_str()))
                .map(|m| (l(&[("migration", &m.id), ("phase", m.state.as_str())]), 1.0)),
        )?;
        gauge(
            enc,
            "zdm_migration_last_duration",
            "How long the migration's last run took (start to expanded, completed or failed).",
            Some(Unit::Seconds),
            s.figures.migrations.iter().filter_map(|m| {
                m.duration_ms
                    .map(|d| (l(&[("migration", &m.id)]), d as f64 / 1000.0))
            }),
        )?;
        counter(
            enc,
            "zdm_lock_retries",
            "Statements retried after lock_timeout, per migration.",
            None,
            s.figures
                .migrations
                .iter()
                .filter(|m| m.lock_retries > 0 || IN_FLIGHT.contains(&m.state.as_str()))
                .map(|m| (l(&[("migration", &m.id)]), m.lock_retries as f64)),
        )
    }

    fn backfills(&self, enc: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = &self.0;
        // Series for migrations still in flight only: finished ones would grow the series count
        // with every migration ever run.
        let live: Vec<_> = s
            .figures
            .backfills
            .iter()
            .filter(|b| b.migration_in_flight)
            .collect();
        let key = |b: &zdm_pg::ledger::figures::BackfillFigures| {
            l(&[("migration", &b.migration), ("table", &b.table)])
        };
        counter(
            enc,
            "zdm_backfill_rows_done",
            "Rows the backfill has computed.",
            None,
            live.iter().map(|b| (key(b), b.rows_done as f64)),
        )?;
        gauge(
            enc,
            "zdm_backfill_rows_estimated",
            "The table's row estimate when its backfill began.",
            None,
            live.iter()
                .filter_map(|b| b.rows_estimated.map(|e| (key(b), e as f64))),
        )?;
        gauge(
            enc,
            "zdm_backfill_rows_per_second",
            "Recent backfill rate, pauses included.",
            None,
            live.iter()
                .filter(|b| !b.finished)
                .map(|b| (key(b), b.rows_per_second.unwrap_or(0.0))),
        )?;
        gauge(
            enc,
            "zdm_backfill_in_progress",
            "1 while the table's backfill is unfinished in an in-flight migration.",
            None,
            live.iter()
                .map(|b| (key(b), if b.finished { 0.0 } else { 1.0 })),
        )?;
        {
            let mut m = enc.encode_descriptor(
                "zdm_backfill_batch_duration",
                "Duration of backfill batches (one short transaction each).",
                Some(&Unit::Seconds),
                MetricType::Histogram,
            )?;
            for b in &live {
                let labels = key(b);
                let e = m.encode_family(&labels)?;
                Stored {
                    sum: b.batch_seconds,
                    counts: &b.batch_buckets,
                }
                .encode(e)?;
            }
        }
        // Every table ever backfilled counts here, so the total never goes down.
        let mut throttled: BTreeMap<String, f64> = BTreeMap::new();
        for b in &s.figures.backfills {
            if let serde_json::Value::Object(m) = &b.throttled_seconds {
                for (cause, v) in m {
                    *throttled.entry(cause.clone()).or_default() += v.as_f64().unwrap_or(0.0);
                }
            }
        }
        if s.ledger_up {
            throttled
                .entry(zdm_pg::backfill::THROTTLE_DELAY.to_string())
                .or_default();
        }
        counter(
            enc,
            "zdm_throttled",
            "Time the work paused to spare the database, by cause.",
            Some(Unit::Seconds),
            throttled
                .iter()
                .map(|(cause, v)| (l(&[("cause", cause)]), *v)),
        )
    }

    fn moves(&self, enc: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let moves = &self.0.moves;
        let job = |m: &crate::snapshot::MoveSnapshot| l(&[("move", &m.report.job)]);
        gauge(
            enc,
            "zdm_move_phase",
            "1 for each move job, labelled with its phase.",
            None,
            moves.iter().map(|m| {
                (
                    l(&[("move", &m.report.job), ("phase", m.report.phase.as_str())]),
                    1.0,
                )
            }),
        )?;
        gauge(
            enc,
            "zdm_move_converged",
            "1 once the change stream has passed the end of the copy.",
            None,
            moves
                .iter()
                .map(|m| (job(m), if m.report.converged { 1.0 } else { 0.0 })),
        )?;
        counter(
            enc,
            "zdm_move_rows_copied",
            "Rows copied by the snapshot, per table.",
            None,
            per_table(moves, &|t| t.rows_copied),
        )?;
        gauge(
            enc,
            "zdm_move_rows_estimated",
            "The source's row estimate per table.",
            None,
            per_table(moves, &|t| t.rows_estimated),
        )?;
        gauge(
            enc,
            "zdm_move_copy_rows_per_second",
            "Snapshot copy rate over the last five minutes.",
            None,
            moves.iter().map(|m| (job(m), m.copy_rows_per_second)),
        )?;
        gauge(
            enc,
            "zdm_move_lag",
            "How far the target is behind the source (while following).",
            Some(Unit::Seconds),
            moves
                .iter()
                .filter_map(|m| m.report.lag_seconds.map(|v| (job(m), v))),
        )?;
        counter(
            enc,
            "zdm_move_applied_events",
            "Source row changes applied to the target.",
            None,
            moves
                .iter()
                .map(|m| (job(m), m.report.applied_events as f64)),
        )?;
        counter(
            enc,
            "zdm_move_applied_transactions",
            "Source transactions applied to the target.",
            None,
            moves
                .iter()
                .map(|m| (job(m), m.report.applied_transactions as f64)),
        )?;
        gauge(
            enc,
            "zdm_move_events_per_second",
            "Recent apply rate of the change stream.",
            None,
            moves
                .iter()
                .filter_map(|m| m.report.events_per_second.map(|v| (job(m), v))),
        )?;
        gauge(
            enc,
            "zdm_move_binlog_position",
            "Applied position: byte offset in the labelled binlog file.",
            None,
            moves.iter().map(|m| {
                (
                    l(&[("move", &m.report.job), ("file", &m.report.position.file)]),
                    m.report.position.pos as f64,
                )
            }),
        )?;
        counter(
            enc,
            "zdm_move_reconnects",
            "Times the change stream lost its connection and reconnected.",
            None,
            moves.iter().map(|m| (job(m), m.report.reconnects as f64)),
        )
    }

    fn verify(&self, enc: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let runs = &self.0.verify;
        let job = |r: &zdm_verify::record::RunSummary| {
            l(&[("move", r.job.as_deref().unwrap_or(STANDALONE_JOB))])
        };
        gauge(
            enc,
            "zdm_verify_equal",
            "1 when the latest verification found both sides equal, 0 on differences or error.",
            None,
            runs.iter()
                .map(|r| (job(r), if r.equal { 1.0 } else { 0.0 })),
        )?;
        gauge(
            enc,
            "zdm_verify_differences",
            "Rows that differ, per table, in the latest verification.",
            None,
            runs.iter().flat_map(|r| {
                let j = r.job.as_deref().unwrap_or(STANDALONE_JOB).to_string();
                r.tables.as_array().into_iter().flatten().map(move |t| {
                    (
                        vec![
                            ("move", j.clone()),
                            ("table", t["name"].as_str().unwrap_or("").to_string()),
                        ],
                        t["differences"].as_f64().unwrap_or(0.0),
                    )
                })
            }),
        )?;
        gauge(
            enc,
            "zdm_verify_rows_compared",
            "Rows compared by the latest verification.",
            None,
            runs.iter().map(|r| (job(r), r.rows_compared as f64)),
        )?;
        gauge(
            enc,
            "zdm_verify_rows_per_second",
            "Speed of the latest verification.",
            None,
            runs.iter()
                .filter_map(|r| r.rows_per_second.map(|v| (job(r), v))),
        )?;
        gauge(
            enc,
            "zdm_verify_last_run_timestamp",
            "When the latest verification finished (Unix time).",
            Some(Unit::Seconds),
            runs.iter()
                .map(|r| (job(r), r.finished_at.timestamp() as f64)),
        )
    }
}
