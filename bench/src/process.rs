//! Running a tool as a child process: wall time, max RSS from `wait4`, exit code, a timeout.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Run {
    pub seconds: f64,
    pub peak_mib: f64,
    pub output_bytes: u64,
    pub finished: bool,
    /// Exit code (≥ 2 means the tool failed rather than reported findings).
    pub code: i32,
}

/// Run `cmd`, discard its output (counting it), and read its max RSS from `wait4`.
pub fn measure(cmd: &mut Command, timeout: Duration) -> anyhow::Result<Run> {
    measure_to(cmd, timeout, &tempfile_path("out"), true)
}

/// [`measure`], with the output kept in `out` (removed afterwards when `remove`).
pub fn measure_to(
    cmd: &mut Command,
    timeout: Duration,
    out: &std::path::Path,
    remove: bool,
) -> anyhow::Result<Run> {
    let out = out.to_path_buf();
    cmd.stdout(Stdio::from(std::fs::File::create(&out)?))
        .stderr(Stdio::null());
    let began = Instant::now();
    let child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut finished = true;
    loop {
        // SAFETY: plain wait4 on our own child, with valid pointers to locals.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        if began.elapsed() > timeout {
            // SAFETY: kill and reap our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::wait4(pid, &mut status, 0, &mut usage);
            }
            finished = false;
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let seconds = began.elapsed().as_secs_f64();
    let output_bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    if remove {
        let _ = std::fs::remove_file(&out);
    }
    Ok(Run {
        seconds,
        peak_mib: usage.ru_maxrss as f64 / 1024.0,
        output_bytes,
        finished,
        code: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        },
    })
}

pub fn tempfile_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("zdm-bench-{}-{tag}", std::process::id()))
}

pub fn default_zdm() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("zdm")))
        .unwrap_or_else(|| PathBuf::from("zdm"))
}
