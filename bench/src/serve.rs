//! `zdm-bench serve`: latency of `/metrics` and `/api/status` with a large ledger (default 200
//! migrations, 100k audit events, a backfill in flight, verify runs), under concurrent clients.
//! The baseline in the same run is `/healthz`, which does no encoding; the ledger read that
//! feeds every endpoint (once per refresh, not per request) is timed on its own.

use std::time::{Duration, Instant};
use zdm_observe::server::{self, LedgerSource, ServeOptions};
use zdm_pg::{ConnectionSpec, Ledger};
use zdm_testkit::TestDb;

pub async fn run(migrations: i64, events: i64, clients: usize, seconds: u64) -> anyhow::Result<()> {
    let db = TestDb::create().await;
    let c = db.connect().await;
    let ledger = Ledger::new("zdm");
    ledger.init(&c).await?;
    fill(&c, migrations, events).await?;
    println!(
        "ledger: {migrations} migrations, {events} events, 1 backfill in flight, 20 verify runs"
    );

    let spec = ConnectionSpec::parse(&db.url)?;
    // The read alone, as every request would pay it without the refresher.
    let mut reads = Vec::new();
    for _ in 0..50 {
        let began = Instant::now();
        zdm_observe::snapshot::read(&c, &ledger, &[]).await?;
        reads.push(began.elapsed());
    }
    report("ledger read (per refresh)", &mut reads, None);

    let running = server::start(
        ServeOptions {
            listen: "127.0.0.1:0".parse()?,
            token: None,
            ready: Default::default(),
            refresh: Duration::from_secs(1),
        },
        LedgerSource {
            spec,
            ledger,
            files: Vec::new(),
        },
    )
    .await?;
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::new();
    let size = http
        .get(format!("{base}/api/status"))
        .send()
        .await?
        .bytes()
        .await?
        .len();
    let metrics_size = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .bytes()
        .await?
        .len();
    println!(
        "/api/status {} KiB, /metrics {} KiB",
        size / 1024,
        metrics_size / 1024
    );

    let mut baseline = None;
    for path in ["/healthz", "/metrics", "/api/status"] {
        let mut all = load(&http, &format!("{base}{path}"), clients, seconds).await?;
        let p99 = report(
            &format!("GET {path} ({clients} clients)"),
            &mut all,
            baseline,
        );
        if baseline.is_none() {
            baseline = Some(p99);
        }
    }
    running.task.abort();
    Ok(())
}

async fn load(
    http: &reqwest::Client,
    url: &str,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<Vec<Duration>> {
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let http = http.clone();
        let url = url.to_string();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < until {
                let began = Instant::now();
                let r = http.get(&url).send().await?;
                anyhow::ensure!(r.status().is_success(), "{url}: {}", r.status());
                r.bytes().await?;
                samples.push(began.elapsed());
            }
            Ok::<_, anyhow::Error>(samples)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok(all)
}

/// Prints count, p50, p99, max (and the p99 ratio to `baseline`); returns p99.
fn report(what: &str, samples: &mut [Duration], baseline: Option<Duration>) -> Duration {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (p50, p99, max) = (at(0.5), at(0.99), *samples.last().unwrap());
    let ratio = baseline
        .map(|b| format!(", p99 = {:.1}x /healthz", ms(p99) / ms(b).max(0.001)))
        .unwrap_or_default();
    println!(
        "{what}: {} requests, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (budget 50 ms: {}){ratio}",
        samples.len(),
        ms(p50),
        ms(p99),
        ms(max),
        if ms(p99) < 50.0 { "met" } else { "NOT met" }
    );
    p99
}

async fn fill(c: &tokio_postgres::Client, migrations: i64, events: i64) -> anyhow::Result<()> {
    c.batch_execute(&format!(
        "INSERT INTO zdm.migrations (id, checksum, kind, state, migration, started_at, completed_at, duration_ms, lock_retries, last_error, failed_at, failed_phase) \
         SELECT format('%s_migration_%s', lpad(g::text, 5, '0'), g), md5(g::text), \
                CASE WHEN g % 2 = 0 THEN 'sql' ELSE 'operations' END, \
                CASE WHEN g = {migrations} THEN 'running' WHEN g % 50 = 0 THEN 'rolled_back' WHEN g = {migrations} - 1 THEN 'failed' ELSE 'completed' END, \
                '{{}}', now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval + interval '3 s', 3000 + g, g % 3, \
                CASE WHEN g = {migrations} - 1 THEN 'lock timeout on table orders' END, \
                CASE WHEN g = {migrations} - 1 THEN now() END, CASE WHEN g = {migrations} - 1 THEN 'backfill' END \
           FROM generate_series(1, {migrations}) g;
         INSERT INTO zdm.backfill_progress (migration_id, table_name, rows_done, rows_total, finished, rows_per_second, batches, batch_seconds, batch_buckets, throttled_seconds) \
         SELECT id, t, 400000, 1000000, false, 25000, 200, 8.5, ARRAY[0, 3, 20, 150, 25, 2, 0, 0, 0, 0, 0, 0], '{{\"delay\": 4.0}}' \
           FROM zdm.migrations, unnest(ARRAY['orders', 'order_items', 'customers']) t WHERE state = 'running';
         INSERT INTO zdm.events (migration_id, phase, level, message, details) \
         SELECT format('%s_migration_%s', lpad((g % {migrations} + 1)::text, 5, '0'), g % {migrations} + 1), 'backfill', 'info', \
                'backfill batch of orders: ' || g || ' rows', jsonb_build_object('rows', g) \
           FROM generate_series(1, {events}) g;
         INSERT INTO zdm.verify_runs (job_id, source, target, equal, differences, rows_compared, tables, started_at) \
         SELECT NULL, 'mysql://app@db/shop', 'postgres://app@pg/shop', g % 5 <> 0, g % 5, 1000000, \
                jsonb_build_array(jsonb_build_object('name', 'orders', 'source_rows', 1000000, 'target_rows', 1000000, 'differences', g % 5)), \
                now() - interval '1 minute' \
           FROM generate_series(1, 20) g;
         ANALYZE zdm.migrations; ANALYZE zdm.events;"
    ))
    .await?;
    Ok(())
}
