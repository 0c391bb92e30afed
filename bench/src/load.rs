//! Live-load impact: a fixed-rate OLTP load (point reads, updates, inserts) runs while a
//! migration happens. Latency is measured from each statement's scheduled time, so a stall
//! counts in full (no coordinated omission). Scenarios run on fresh databases one after another.

use crate::support::{migration, session};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::time::MissedTickBehavior;
use zdm_pg::backfill::Quiet;
use zdm_pg::runner::operations::{self as ops, EngineOptions};
use zdm_testkit::TestDb;

const CLIENTS: u64 = 8;

#[derive(Clone, Copy)]
enum Change {
    None,
    Zdm {
        yaml: &'static str,
        new_insert: &'static str,
    },
    Naive(&'static [&'static str]),
}

const WIDEN: &str = "operations:\n  - alter_column:\n      table: accounts\n      column: balance\n      type: bigint\n      up: CAST(balance AS bigint)\n      down: CAST(balance AS integer)\n";
const PK_WIDEN: &str = "operations:\n  - alter_column:\n      table: accounts\n      column: id\n      type: bigint\n      up: id\n      down: id\n";
const CENTS: &str = "operations:\n  - add_column:\n      table: accounts\n      up: balance * 100\n      column:\n        name: balance_cents\n        type: bigint\n";

struct Shared {
    schema: RwLock<String>,
    stop: AtomicBool,
    errors: AtomicU64,
    insert_sql: RwLock<&'static str>,
    /// Time zero of the scenario's timeline (`ZDM_BENCH_TIMELINE=1` prints slow statements and
    /// the migration's phases against it).
    epoch: Instant,
    /// Where each phase of the migration began, in seconds from `epoch` (for the per-phase
    /// breakdown that `ZDM_BENCH_PHASES=1` prints).
    marks: Mutex<Vec<(&'static str, f64)>>,
}

impl Shared {
    fn mark(&self, phase: &'static str) {
        let t = self.epoch.elapsed().as_secs_f64();
        self.marks.lock().unwrap().push((phase, t));
        if std::env::var_os("ZDM_BENCH_TIMELINE").is_some() {
            eprintln!("  phase: {phase} at t={t:.3}s");
        }
    }
}

/// One statement's latency: when it was scheduled (seconds from the epoch), how long it took
/// (µs), and its kind (0 read, 1 update, 2 insert).
#[derive(Clone, Copy)]
struct Sample {
    at: f32,
    micros: u32,
    kind: u8,
}

const KINDS: [&str; 3] = ["read", "update", "insert"];

/// Marks the backfill's start and end on the timeline, and counts its batches.
struct BackfillMarks(Arc<Shared>, AtomicU64);

impl zdm_pg::backfill::BackfillObserver for BackfillMarks {
    fn begin(&self, _: &str, _: u64, _: Option<u64>) {
        self.0.mark("backfill");
    }
    fn batch(&self, _: &str, _: u64, _: u64) {
        self.1.fetch_add(1, Ordering::Relaxed);
    }
    fn end(&self, _: &str, done: u64) {
        self.0.mark("expanded, backfilled");
        if std::env::var_os("ZDM_BENCH_PHASES").is_some() {
            let batches = self.1.load(Ordering::Relaxed).max(1);
            eprintln!(
                "    backfill: {done} rows in {batches} batches ({} rows each)",
                done / batches
            );
        }
    }
}

/// Per phase of the timeline: statements, p50, p99 and max, and the p99 of each kind.
fn print_phases(marks: &[(&'static str, f64)], samples: &[Sample]) {
    let mut bounds: Vec<(&str, f64, f64)> = Vec::new();
    let mut from = ("before the migration", 0.0);
    for &(name, t) in marks {
        bounds.push((from.0, from.1, t));
        from = (name, t);
    }
    bounds.push((from.0, from.1, f64::MAX));
    for (name, a, b) in bounds {
        let mut all: Vec<&Sample> = samples
            .iter()
            .filter(|s| (s.at as f64) >= a && (s.at as f64) < b)
            .collect();
        if all.is_empty() {
            continue;
        }
        all.sort_unstable_by_key(|s| s.micros);
        let q =
            |v: &[&Sample], p: f64| v[((v.len() as f64 - 1.0) * p) as usize].micros as f64 / 1000.0;
        let kinds: Vec<String> = (0..3u8)
            .filter_map(|k| {
                let v: Vec<&Sample> = all.iter().copied().filter(|s| s.kind == k).collect();
                (!v.is_empty()).then(|| format!("{} p99 {:.2}", KINDS[k as usize], q(&v, 0.99)))
            })
            .collect();
        eprintln!(
            "    {name:<28} {:>6.2}s {:>6} stmts  p50 {:>6.2}  p99 {:>6.2}  max {:>7.1}  ({})",
            b.min(samples.iter().map(|s| s.at as f64).fold(0.0, f64::max)) - a,
            all.len(),
            q(&all, 0.5),
            q(&all, 0.99),
            q(&all, 1.0),
            kinds.join(", ")
        );
    }
}

async fn client(
    url: String,
    shared: Arc<Shared>,
    rows: i64,
    period: Duration,
    seed: u64,
) -> Vec<Sample> {
    let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let mut schema = String::new();
    let mut lat = Vec::new();
    let mut rng = seed | 1;
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    while !shared.stop.load(Ordering::Relaxed) {
        let scheduled = tick.tick().await;
        let want = shared.schema.read().unwrap().clone();
        if want != schema {
            c.batch_execute(&format!("SET search_path = \"{want}\""))
                .await
                .expect("search_path");
            schema = want;
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let id = (rng % rows as u64) as i64 + 1;
        let v = (rng % 100_000) as i32;
        let kind = match rng % 10 {
            0..=4 => 0,
            5..=7 => 1,
            _ => 2,
        };
        let r = match rng % 10 {
            0..=4 => c
                .query_opt("SELECT * FROM accounts WHERE id = $1::bigint", &[&id])
                .await
                .map(|_| ()),
            5..=7 => c
                .execute(
                    "UPDATE accounts SET balance = $2::integer WHERE id = $1::bigint",
                    &[&id, &v],
                )
                .await
                .map(|_| ()),
            _ => {
                let sql = *shared.insert_sql.read().unwrap();
                c.execute(sql, &[&v]).await.map(|_| ())
            }
        };
        if let Err(e) = r {
            shared.errors.fetch_add(1, Ordering::Relaxed);
            eprintln!("statement failed: {e}");
        }
        let took = scheduled.elapsed();
        lat.push(Sample {
            at: (scheduled.into_std() - shared.epoch).as_secs_f32(),
            micros: took.as_micros() as u32,
            kind,
        });
        if took > Duration::from_millis(50) && std::env::var_os("ZDM_BENCH_TIMELINE").is_some() {
            eprintln!(
                "  slow: {:>5} ms at t={:.3}s",
                took.as_millis(),
                shared.epoch.elapsed().as_secs_f64() - took.as_secs_f64()
            );
        }
    }
    lat
}

struct Stats {
    p50: f64,
    p99: f64,
    max: f64,
    n: usize,
    errors: u64,
    migration: f64,
}

async fn scenario(
    rows: i64,
    rate: u64,
    seconds: u64,
    change: Change,
    engine: &EngineOptions,
) -> anyhow::Result<Stats> {
    let db = TestDb::create().await;
    let admin = db.connect().await;
    let dir = std::env::temp_dir().join(format!("zdm-bench-{}", db.name));
    std::fs::create_dir_all(&dir)?;
    let mut s = session(&db).await?;
    let f1 = migration(
        &dir,
        "01_accounts.yaml",
        "operations:\n  - create_table:\n      name: accounts\n      columns:\n        - name: id\n          type: serial\n          pk: true\n        - name: balance\n          type: integer\n        - name: note\n          type: text\n          nullable: true\n",
    )?;
    let naive = matches!(change, Change::Naive(_));
    if naive {
        // The naive path has no version schemas (their views would pin the column's type).
        admin.batch_execute("CREATE TABLE accounts (id serial PRIMARY KEY, balance integer NOT NULL, note text)").await?;
    } else {
        ops::start(&mut s, &f1, None, &EngineOptions::default(), &Quiet).await?;
        ops::complete(&mut s, Some(&f1.id)).await?;
    }
    admin
        .batch_execute(&format!(
            "INSERT INTO public.accounts (balance, note) SELECT g % 100000, 'seed' FROM generate_series(1, {rows}) g; ANALYZE public.accounts"
        ))
        .await?;
    // Settle after the bulk load so the baseline is not measuring its aftermath.
    admin.batch_execute("VACUUM public.accounts").await?;
    admin.batch_execute("CHECKPOINT").await?;
    let shared = Arc::new(Shared {
        schema: RwLock::new(if naive {
            "public".into()
        } else {
            "public_01_accounts".into()
        }),
        stop: AtomicBool::new(false),
        errors: AtomicU64::new(0),
        insert_sql: RwLock::new(
            "INSERT INTO accounts (balance, note) VALUES ($1::integer, 'load')",
        ),
        epoch: Instant::now(),
        marks: Mutex::new(Vec::new()),
    });
    let phase = |name: &'static str| shared.mark(name);
    let marks = BackfillMarks(shared.clone(), AtomicU64::new(0));
    let period = Duration::from_secs_f64(CLIENTS as f64 / rate as f64);
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|i| {
            tokio::spawn(client(
                db.url.clone(),
                shared.clone(),
                rows,
                period,
                0x9E37_79B9 * (i + 1),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let began = Instant::now();
    match change {
        Change::None => {}
        Change::Zdm { yaml, new_insert } => {
            let f2 = migration(&dir, "02_change.yaml", yaml)?;
            phase("start: expand");
            ops::start(&mut s, &f2, None, engine, &marks).await?;
            phase("new version deployed");
            // Deploy: the application moves to the new version, then the old one is retired.
            *shared.insert_sql.write().unwrap() = new_insert;
            *shared.schema.write().unwrap() = "public_02_change".into();
            tokio::time::sleep(Duration::from_millis(500)).await;
            phase("complete");
            if let Err(e) = ops::complete(&mut s, Some(&f2.id)).await {
                // Leave evidence: which rows lack a helper value, and when they were written.
                if let Ok(rows) = admin
                    .query(
                        "SELECT id::text || ' ctid ' || ctid::text || ' neighbours ' || \
                                (SELECT string_agg(a.id::text || ':' || a.xmin::text || ':' || coalesce(a._zdm_new_id::text, 'NULL'), ' ') \
                                   FROM public.accounts a WHERE a.id BETWEEN t.id - 2 AND t.id + 2) || \
                                ' progress ' || (SELECT string_agg(last_key::text || '/' || rows_done, ',') FROM zdm.backfill_progress) || \
                                ' expand ' || (SELECT progress::text FROM zdm.migrations WHERE id = '02_change'), \
                                xmin::text, balance FROM public.accounts t WHERE _zdm_new_id IS NULL LIMIT 10",
                        &[],
                    )
                    .await
                {
                    for r in rows {
                        eprintln!(
                            "  row without helper: id {} xmin {} balance {}",
                            r.get::<_, String>(0),
                            r.get::<_, String>(1),
                            r.get::<_, i32>(2)
                        );
                    }
                }
                return Err(e.into());
            }
            phase("after the migration");
        }
        Change::Naive(statements) => {
            for st in statements {
                // A naive migration failing under load is a result, not a benchmark error.
                if let Err(e) = admin.batch_execute(st).await {
                    println!(
                        "    (the naive migration failed: {})",
                        zdm_pg::error::describe_pg_error(&e)
                    );
                    break;
                }
            }
        }
    }
    let migration_secs = began.elapsed().as_secs_f64();
    let remaining = Duration::from_secs(seconds)
        .saturating_sub(began.elapsed())
        .max(Duration::from_secs(1));
    tokio::time::sleep(remaining).await;
    shared.stop.store(true, Ordering::Relaxed);
    let mut samples: Vec<Sample> = Vec::new();
    for t in tasks {
        samples.extend(t.await?);
    }
    if std::env::var_os("ZDM_BENCH_PHASES").is_some() {
        print_phases(&shared.marks.lock().unwrap(), &samples);
    }
    let mut lat: Vec<u32> = samples.iter().map(|s| s.micros).collect();
    lat.sort_unstable();
    let q = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize] as f64 / 1000.0;
    std::fs::remove_dir_all(&dir).ok();
    Ok(Stats {
        p50: q(0.5),
        p99: q(0.99),
        max: q(1.0),
        n: lat.len(),
        errors: shared.errors.load(Ordering::Relaxed),
        migration: migration_secs,
    })
}

pub async fn run(
    rows: i64,
    rate: u64,
    seconds: u64,
    engine: EngineOptions,
    only: &str,
    repeat: usize,
) -> anyhow::Result<()> {
    println!(
        "backfill batch target {:?}, delay {:?}, nice ratio {} while the application is busy; lock_timeout {:?}",
        engine.backfill.target_batch,
        engine.backfill.delay,
        engine.backfill.busy_nice,
        crate::support::policy().lock_timeout
    );
    println!("each scenario {repeat} time(s), figures are medians over the runs");
    println!("{rows} rows, {rate} statements/s from {CLIENTS} clients (50% reads, 30% updates, 20% inserts), latency from scheduled time\n");
    println!(
        "{:<44} {:>8} {:>8} {:>9} {:>7} {:>7} {:>9} {:>9}",
        "scenario", "p50 ms", "p99 ms", "max ms", "errors", "stmts", "p99/base", "migr. s"
    );
    let scenarios: Vec<(&str, Change)> = vec![
        ("no migration (baseline)", Change::None),
        ("zdm: balance int -> bigint (up/down)", Change::Zdm { yaml: WIDEN, new_insert: "INSERT INTO accounts (balance, note) VALUES ($1::integer, 'load')" }),
        ("zdm: primary key id int -> bigint", Change::Zdm { yaml: PK_WIDEN, new_insert: "INSERT INTO accounts (balance, note) VALUES ($1::integer, 'load')" }),
        (
            "zdm: add NOT NULL balance_cents = balance*100",
            Change::Zdm { yaml: CENTS, new_insert: "INSERT INTO accounts (balance, balance_cents, note) VALUES ($1::integer, $1::integer::bigint * 100, 'load')" },
        ),
        ("naive: ALTER COLUMN balance TYPE bigint", Change::Naive(&["ALTER TABLE accounts ALTER COLUMN balance TYPE bigint"])),
        ("naive: ALTER COLUMN id TYPE bigint", Change::Naive(&["ALTER TABLE accounts ALTER COLUMN id TYPE bigint"])),
        (
            "naive: ADD COLUMN + UPDATE + SET NOT NULL",
            Change::Naive(&[
                "ALTER TABLE accounts ADD COLUMN balance_cents bigint",
                "UPDATE accounts SET balance_cents = balance::bigint * 100",
                "ALTER TABLE accounts ALTER COLUMN balance_cents SET NOT NULL",
            ]),
        ),
    ];
    let mut base_p99 = None;
    for (name, change) in scenarios {
        if !(name.starts_with(only) || name.starts_with("no migration")) {
            continue;
        }
        // The machine's own stalls (fsync, neighbours) hit single runs: each scenario runs
        // `repeat` times and every figure is the median over the runs (errors are summed).
        let mut runs = Vec::new();
        for _ in 0..repeat.max(1) {
            runs.push(scenario(rows, rate, seconds, change, &engine).await?);
        }
        let median = |f: &dyn Fn(&Stats) -> f64| {
            let mut v: Vec<f64> = runs.iter().map(f).collect();
            v.sort_by(|a, b| a.total_cmp(b));
            v[v.len() / 2]
        };
        let st = Stats {
            p50: median(&|s| s.p50),
            p99: median(&|s| s.p99),
            max: median(&|s| s.max),
            n: runs.iter().map(|s| s.n).sum(),
            errors: runs.iter().map(|s| s.errors).sum(),
            migration: median(&|s| s.migration),
        };
        let base = *base_p99.get_or_insert(st.p99);
        println!(
            "{name:<44} {:>8.2} {:>8.2} {:>9.1} {:>7} {:>7} {:>9.2} {:>9.1}",
            st.p50,
            st.p99,
            st.max,
            st.errors,
            st.n,
            st.p99 / base,
            st.migration
        );
    }
    Ok(())
}
