//! Backfill throughput: zdm's batched, checkpointed backfill (through the dual-write trigger)
//! against one plain `UPDATE` of the whole table doing the same conversion.

use crate::support::{migration, session};
use std::sync::Mutex;
use std::time::Instant;
use zdm_pg::backfill::BackfillObserver;
use zdm_pg::runner::operations::{self as ops, EngineOptions};
use zdm_testkit::TestDb;

/// Times the backfill phase itself (first batch to last), apart from the rest of `start`.
#[derive(Default)]
struct Clock {
    began: Mutex<Option<Instant>>,
    ended: Mutex<Option<Instant>>,
}

impl BackfillObserver for Clock {
    fn begin(&self, _: &str, _: u64, _: Option<u64>) {
        self.began.lock().unwrap().get_or_insert_with(Instant::now);
    }
    fn batch(&self, _: &str, _: u64, _: u64) {}
    fn end(&self, _: &str, _: u64) {
        *self.ended.lock().unwrap() = Some(Instant::now());
    }
}

pub async fn run(sizes: &[i64]) -> anyhow::Result<()> {
    println!("backfill = the batched phase alone; start = the whole `zdm start` (ledger, expand, backfill, views)\n");
    println!("rows        plain UPDATE rows/s   zdm backfill rows/s   backfill/UPDATE   zdm start rows/s   start/UPDATE");
    for &rows in sizes {
        let db = TestDb::create().await;
        let c = db.connect().await;
        let dir = std::env::temp_dir().join(format!("zdm-bench-{}", db.name));
        std::fs::create_dir_all(&dir)?;
        for t in ["base", "items"] {
            c.batch_execute(&format!(
                "CREATE TABLE {t} (id bigserial PRIMARY KEY, qty integer NOT NULL, note text); \
                 INSERT INTO {t} (qty, note) SELECT g, 'row ' || g FROM generate_series(1, {rows}) g; ANALYZE {t}"
            ))
            .await?;
        }
        // Baseline: the same conversion as one statement.
        c.batch_execute("ALTER TABLE base ADD COLUMN qty_new bigint")
            .await?;
        let t0 = Instant::now();
        c.batch_execute("UPDATE base SET qty_new = CAST(qty AS bigint)")
            .await?;
        let plain = t0.elapsed().as_secs_f64();

        let mut s = session(&db).await?;
        let f = migration(
            &dir,
            "01_widen.yaml",
            "operations:\n  - alter_column:\n      table: items\n      column: qty\n      type: bigint\n      up: CAST(qty AS bigint)\n      down: CAST(qty AS integer)\n",
        )?;
        let clock = Clock::default();
        let t0 = Instant::now();
        ops::start(&mut s, &f, None, &EngineOptions::default(), &clock).await?;
        let whole = t0.elapsed().as_secs_f64();
        let phase = match (*clock.began.lock().unwrap(), *clock.ended.lock().unwrap()) {
            (Some(a), Some(b)) => (b - a).as_secs_f64(),
            _ => whole,
        };
        let (p, b, w) = (
            rows as f64 / plain,
            rows as f64 / phase,
            rows as f64 / whole,
        );
        println!(
            "{rows:<11} {p:>20.0}   {b:>19.0}   {:>15.2}   {w:>16.0}   {:>12.2}",
            b / p,
            w / p
        );
        std::fs::remove_dir_all(&dir).ok();
    }
    Ok(())
}
