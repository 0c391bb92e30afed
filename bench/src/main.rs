//! zdm benchmarks. Figures are ratios against a baseline measured in the same run.
//!
//! `zdm-bench backfill [--rows 100000,1000000]`: zdm's backfill rows/s vs one plain `UPDATE`.
//! `zdm-bench live-load [--rows 1000000] [--rate 400] [--seconds 8] [--batch-target-ms 40]
//! [--batch-delay-ms 0] [--only zdm|naive]`: latency of a fixed-rate OLTP load with no migration,
//! during zdm migrations, and during the naive `ALTER TABLE`s.
//!
//! `zdm-bench lint [--statements 20000] [--files 2000] [--zdm PATH] [--squawk squawk]
//! [--timeout 300]`: `zdm lint` vs squawk on the same generated files, per output format.
//!
//! `zdm-bench move-copy [--rows 1000000]`: `zdm move`'s snapshot copy vs pgloader vs a raw
//! binary COPY of the same rows. `zdm-bench move-cdc [--rates 2000,5000,10000] [--seconds 10]`:
//! change capture applied rate and lag at fixed change rates. `zdm-bench verify [--rows N]`: zdm
//! verify vs reladiff, MySQL→PG and PG→PG, equal and one changed value.
//!
//! `zdm-bench serve [--migrations 200] [--events 100000] [--clients 8] [--seconds 5]`:
//! `/metrics` and `/api/status` latency over a large ledger, `/healthz` as the baseline.
//!
//! Uses the server of ZDM_TEST_DATABASE_URL; each scenario gets a fresh database.

mod backfill;
mod lint;
mod load;
mod moving;
mod process;
mod serve;
mod verify;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("backfill") => {
            let sizes: Vec<i64> = arg("--rows", "100000,1000000")
                .split(',')
                .map(|s| s.parse().expect("--rows: numbers"))
                .collect();
            backfill::run(&sizes).await
        }
        Some("live-load") => {
            let rows: i64 = arg("--rows", "1000000").parse()?;
            let rate: u64 = arg("--rate", "400").parse()?;
            let seconds: u64 = arg("--seconds", "8").parse()?;
            let mut engine = zdm_pg::runner::operations::EngineOptions::default();
            engine.backfill.target_batch =
                std::time::Duration::from_millis(arg("--batch-target-ms", "40").parse()?);
            engine.backfill.delay =
                std::time::Duration::from_millis(arg("--batch-delay-ms", "0").parse()?);
            engine.backfill.busy_nice = arg("--nice-ratio", "1").parse()?;
            if let Ok(ms) = arg("--busy-batch-ms", "").parse() {
                engine.backfill.busy_target_batch = std::time::Duration::from_millis(ms);
            }
            load::run(
                rows,
                rate,
                seconds,
                engine,
                &arg("--only", ""),
                arg("--repeat", "1").parse()?,
            )
            .await
        }
        Some("lint") => lint::run(
            arg("--statements", "20000").parse()?,
            arg("--files", "2000").parse()?,
            std::env::args()
                .position(|a| a == "--zdm")
                .map(|_| arg("--zdm", "").into()),
            &arg("--squawk", "squawk"),
            std::time::Duration::from_secs(arg("--timeout", "300").parse()?),
        ),
        Some("move-copy") => {
            moving::copy(
                arg("--rows", "1000000").parse()?,
                std::env::args()
                    .position(|a| a == "--zdm")
                    .map(|_| arg("--zdm", "").into()),
                &arg("--pgloader", "pgloader"),
            )
            .await
        }
        Some("move-cdc") => {
            let rates: Vec<u64> = arg("--rates", "2000,5000,10000")
                .split(',')
                .map(|s| s.parse().expect("--rates: numbers"))
                .collect();
            moving::cdc(
                &rates,
                arg("--seconds", "10").parse()?,
                std::env::args()
                    .position(|a| a == "--zdm")
                    .map(|_| arg("--zdm", "").into()),
            )
            .await
        }
        Some("verify") => {
            verify::run(
                arg("--rows", "1000000").parse()?,
                std::env::args()
                    .position(|a| a == "--zdm")
                    .map(|_| arg("--zdm", "").into()),
                &arg("--reladiff", "reladiff"),
            )
            .await
        }
        Some("serve") => {
            serve::run(
                arg("--migrations", "200").parse()?,
                arg("--events", "100000").parse()?,
                arg("--clients", "8").parse()?,
                arg("--seconds", "5").parse()?,
            )
            .await
        }
        _ => {
            eprintln!("usage: zdm-bench serve [--migrations N] [--events N] [--clients N] [--seconds S] | verify [--rows N] [--zdm PATH] [--reladiff PATH] | move-copy [--rows N] [--zdm PATH] [--pgloader PATH] | move-cdc [--rates A,B] [--seconds S] [--zdm PATH] | backfill [--rows N,M] | live-load [--rows N] [--rate R] [--seconds S] [--batch-target-ms T] [--batch-delay-ms D] [--lock-timeout-ms L] [--repeat N] [--only zdm|naive] | lint [--statements N] [--files M] [--zdm PATH] [--squawk PATH] [--timeout S]");
            std::process::exit(2)
        }
    }
}

/// A Session and a fresh database; the helpers both benchmarks share.
pub mod support {
    use zdm_core::source::{load_file, MigrationFile};
    use zdm_pg::{ConnectionSpec, LockPolicy, Session};
    use zdm_testkit::TestDb;

    /// `--lock-timeout-ms` (default: zdm's own default).
    pub fn policy() -> LockPolicy {
        let mut p = LockPolicy::default();
        if let Ok(ms) = super::arg("--lock-timeout-ms", "").parse::<u64>() {
            p.lock_timeout = std::time::Duration::from_millis(ms);
        }
        p
    }

    pub async fn session(db: &TestDb) -> anyhow::Result<Session> {
        let spec = ConnectionSpec::parse(&db.url)?;
        Ok(Session::open(&spec, "zdm", policy(), "bench").await?)
    }

    pub fn migration(
        dir: &std::path::Path,
        name: &str,
        yaml: &str,
    ) -> anyhow::Result<MigrationFile> {
        let p = dir.join(name);
        std::fs::write(&p, yaml)?;
        Ok(load_file(&p)?)
    }
}
