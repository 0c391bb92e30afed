//! Backfill progress for the terminal: a bar with rows, rate and ETA on a TTY, plain lines
//! (about every 2 s) otherwise, nothing with --json.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use zdm_pg::backfill::BackfillObserver;

pub struct Progress {
    mode: Mode,
    bar: Mutex<Option<ProgressBar>>,
    last_line: Mutex<Instant>,
    started: Mutex<Instant>,
}

#[derive(PartialEq)]
enum Mode {
    Bar,
    Lines,
    Silent,
}

impl Progress {
    pub fn new(json: bool) -> Self {
        let mode = if json {
            Mode::Silent
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        };
        Progress {
            mode,
            bar: Mutex::new(None),
            last_line: Mutex::new(Instant::now()),
            started: Mutex::new(Instant::now()),
        }
    }
}

impl BackfillObserver for Progress {
    fn begin(&self, table: &str, done: u64, total: Option<u64>) {
        *self.started.lock().unwrap() = Instant::now();
        match self.mode {
            Mode::Bar => {
                let bar = ProgressBar::new(total.unwrap_or(0).max(done));
                bar.set_style(
                    ProgressStyle::with_template("backfill {msg} [{bar:30}] {human_pos}/{human_len} rows {per_sec} ETA {eta}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_message(table.to_string());
                bar.set_position(done);
                *self.bar.lock().unwrap() = Some(bar);
            }
            Mode::Lines => eprintln!(
                "backfill {table}: starting at {done} rows (about {} in all)",
                total.unwrap_or(0)
            ),
            Mode::Silent => {}
        }
    }

    fn batch(&self, table: &str, done: u64, _rows: u64) {
        match self.mode {
            Mode::Bar => {
                if let Some(bar) = self.bar.lock().unwrap().as_ref() {
                    if done > bar.length().unwrap_or(0) {
                        bar.set_length(done);
                    }
                    bar.set_position(done);
                }
            }
            Mode::Lines => {
                let mut last = self.last_line.lock().unwrap();
                if last.elapsed() >= Duration::from_secs(2) {
                    let secs = self
                        .started
                        .lock()
                        .unwrap()
                        .elapsed()
                        .as_secs_f64()
                        .max(0.001);
                    eprintln!(
                        "backfill {table}: {done} rows ({:.0} rows/s)",
                        done as f64 / secs
                    );
                    *last = Instant::now();
                }
            }
            Mode::Silent => {}
        }
    }

    fn throttled(&self, table: &str, cause: Option<&str>) {
        match (&self.mode, cause) {
            (Mode::Bar, _) => {
                if let Some(bar) = self.bar.lock().unwrap().as_ref() {
                    bar.set_message(match cause {
                        Some(c) => format!("{table} (throttled: {c})"),
                        None => table.to_string(),
                    });
                }
            }
            (Mode::Lines, Some(c)) => eprintln!("backfill {table}: throttled: {c}"),
            (Mode::Lines, None) => eprintln!("backfill {table}: throttle lifted"),
            (Mode::Silent, _) => {}
        }
    }

    fn end(&self, table: &str, done: u64) {
        match self.mode {
            Mode::Bar => {
                if let Some(bar) = self.bar.lock().unwrap().take() {
                    bar.finish_and_clear();
                }
                eprintln!("backfill {table}: done, {done} rows");
            }
            Mode::Lines => eprintln!("backfill {table}: done, {done} rows"),
            Mode::Silent => {}
        }
    }
}
