//! Linter speed: `zdm lint` and squawk on the same generated inputs — one file of N statements
//! and M small migration files — in each output format, as separate processes. Reports wall
//! time, statements per second and peak memory (max RSS from `wait4`), and each run's ratio to
//! squawk's JSON run on the same input.

use crate::process::{default_zdm, measure, tempfile_path, Run};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Typical migration statements, hazardous and safe, on table `{t}` (index `{i}` keeps names
/// unique across the file).
const TEMPLATES: &[&str] = &[
    "CREATE TABLE t{i} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id bigint NOT NULL, email varchar(100), qty integer, created_at timestamptz NOT NULL DEFAULT now())",
    "CREATE INDEX t{i}_user ON t{i} (user_id)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS t{i}_email ON t{i} (email)",
    "ALTER TABLE t{i} ADD COLUMN note text",
    "ALTER TABLE t{i} ADD COLUMN token uuid DEFAULT gen_random_uuid()",
    "ALTER TABLE t{i} ALTER COLUMN qty TYPE bigint",
    "ALTER TABLE t{i} ALTER COLUMN email TYPE varchar(200)",
    "ALTER TABLE t{i} ADD CONSTRAINT t{i}_qty_positive CHECK (qty > 0)",
    "ALTER TABLE t{i} ADD CONSTRAINT t{i}_qty_small CHECK (qty < 1000000) NOT VALID",
    "ALTER TABLE t{i} VALIDATE CONSTRAINT t{i}_qty_small",
    "ALTER TABLE t{i} ALTER COLUMN email SET NOT NULL",
    "UPDATE t{i} SET qty = 0 WHERE qty IS NULL",
    "ALTER TABLE t{i} RENAME COLUMN note TO remark",
    "ALTER TABLE t{i} DROP COLUMN remark",
    "CREATE UNIQUE INDEX CONCURRENTLY t{i}_token ON t{i} (token)",
    "ALTER TABLE t{i} ADD CONSTRAINT t{i}_token_key UNIQUE USING INDEX t{i}_token",
    "COMMENT ON TABLE t{i} IS 'generated'",
    "INSERT INTO t{i} (user_id, email, qty) VALUES (1, 'a@example.com', 1)",
    "DROP INDEX t{i}_user",
    "ALTER TABLE t{i} ADD COLUMN score numeric(10,2)",
];

fn statements(start: usize, n: usize) -> String {
    let mut s = String::with_capacity(n * 80);
    for k in start..start + n {
        let template = TEMPLATES[k % TEMPLATES.len()];
        let table = k / TEMPLATES.len();
        let _ = writeln!(s, "{};", template.replace("{i}", &table.to_string()));
    }
    s
}

/// The same statements in explicit transactions of ten, with a DO block and comments in each:
/// the shape of hand-written migration files.
fn transactional(n: usize) -> String {
    let mut s = String::with_capacity(n * 100);
    for (k, stmt) in statements(0, n).lines().enumerate() {
        if k % 10 == 0 {
            let _ = writeln!(s, "-- group {}\nBEGIN;", k / 10);
        }
        let _ = writeln!(s, "{stmt}");
        if k % 10 == 4 {
            let _ = writeln!(
                s,
                "/* housekeeping */ DO $$ BEGIN RAISE NOTICE 'step {k}'; END $$;"
            );
        }
        if k % 10 == 9 {
            let _ = writeln!(s, "COMMIT;");
        }
    }
    if !n.is_multiple_of(10) {
        let _ = writeln!(s, "COMMIT;");
    }
    s
}

pub fn run(
    n_statements: usize,
    n_files: usize,
    zdm: Option<PathBuf>,
    squawk: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let zdm = zdm.unwrap_or_else(default_zdm);
    let dir = tempfile_path("corpus");
    let _ = std::fs::remove_dir_all(&dir);
    let small = dir.join("migrations");
    std::fs::create_dir_all(&small)?;
    let big = dir.join("big.sql");
    std::fs::write(&big, statements(0, n_statements))?;
    let txn = dir.join("transactions.sql");
    std::fs::write(&txn, transactional(n_statements))?;
    let per_file = 10;
    for f in 0..n_files {
        std::fs::write(
            small.join(format!("2026010100{f:06}_m{f}.sql")),
            statements(f * per_file, per_file),
        )?;
    }
    println!("zdm: {}; squawk: {squawk}", zdm.display());
    println!(
        "inputs: one file of {n_statements} statements; {n_files} files of {per_file} statements\n"
    );
    println!(
        "{:<8} {:<8} {:<14} {:>9} {:>12} {:>9} {:>10} {:>12}",
        "tool", "format", "input", "seconds", "stmts/s", "peak MiB", "out KiB", "time/squawk"
    );
    let small_glob = format!("{}/*.sql", small.display());
    let inputs: [(&str, usize, Vec<String>, Vec<String>); 3] = [
        (
            "1 big file",
            n_statements,
            vec![big.display().to_string()],
            vec![big.display().to_string()],
        ),
        (
            "transactions",
            n_statements,
            vec![txn.display().to_string()],
            vec![txn.display().to_string()],
        ),
        (
            "small files",
            n_files * per_file,
            vec!["--dir".into(), small.display().to_string()],
            vec![small_glob],
        ),
    ];
    for (label, n, zdm_args, squawk_args) in &inputs {
        let baseline = measure(
            Command::new(squawk)
                .args(["--reporter", "json"])
                .args(squawk_args),
            timeout,
        )?;
        let mut rows: Vec<(&str, &str, Run)> = Vec::new();
        for (squawk_format, shown) in [("tty", "human"), ("gcc", "gcc"), ("gitlab", "gitlab")] {
            let r = measure(
                Command::new(squawk)
                    .args(["--reporter", squawk_format])
                    .args(squawk_args),
                timeout,
            )?;
            rows.push(("squawk", shown, r));
        }
        for format in ["human", "json", "sarif", "github"] {
            let r = measure(
                Command::new(&zdm)
                    .args(["lint", "--format", format, "--fail-on", "none"])
                    .args(zdm_args),
                timeout,
            )?;
            rows.push(("zdm", format, r));
        }
        rows.insert(0, ("squawk", "json", baseline));
        let base = rows[0].2.seconds;
        for (tool, format, r) in rows {
            let secs = if !r.finished {
                format!(">{:.0}", r.seconds)
            } else if r.code >= 2 || r.code < 0 {
                format!("exit {}", r.code)
            } else {
                format!("{:.3}", r.seconds)
            };
            println!(
                "{tool:<8} {format:<8} {label:<14} {secs:>9} {:>12.0} {:>9.1} {:>10.0} {:>12.2}",
                *n as f64 / r.seconds,
                r.peak_mib,
                r.output_bytes as f64 / 1024.0,
                r.seconds / base
            );
        }
        println!();
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
