//! Backfill throughput: zdm's batched, checkpointed backfill (through the dual-write trigger)
//! against one plain `UPDATE` of the whole table doing the same conversion.

use crate::support::{migration, session};
use std::time::Instant;
use zdm_pg::backfill::Quiet;
use zdm_pg::runner::operations::{self as ops, EngineOptions};
use zdm_testkit::TestDb;

pub async fn run(sizes: &[i64]) -> anyhow::Result<()> {
    println!("rows        plain UPDATE rows/s   zdm backfill rows/s   zdm/UPDATE");
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
        let t0 = Instant::now();
        ops::start(&mut s, &f, None, &EngineOptions::default(), &Quiet).await?;
        let zdm = t0.elapsed().as_secs_f64();
        let (p, z) = (rows as f64 / plain, rows as f64 / zdm);
        println!("{rows:<11} {p:>20.0}   {z:>19.0}   {:>9.2}", z / p);
        std::fs::remove_dir_all(&dir).ok();
    }
    Ok(())
}
