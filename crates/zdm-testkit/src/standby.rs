//! A private PostgreSQL primary with a streaming standby, in a temporary directory on free
//! ports, for tests that need real replication lag: the standby can apply WAL with a delay
//! (`recovery_min_apply_delay`), so every write on the primary lags there for that long.
//! PostgreSQL refuses to run as root, so the servers run as the `postgres` user when the test
//! runs as root. Both are stopped and their directory removed when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct PrimaryWithStandby {
    pub primary_url: String,
    pub standby_url: String,
    dir: PathBuf,
    bin: PathBuf,
    data: Vec<PathBuf>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries (apt-get install postgresql)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("an initdb under /usr/lib/postgresql")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false)
}

/// `program args…`, as `postgres` when running as root (PostgreSQL refuses root).
fn as_postgres(program: &Path, args: &[&str]) -> Command {
    let mut c = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    c.args(args);
    c
}

fn run(program: &Path, args: &[&str]) {
    let out = as_postgres(program, args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {args:?}: {}{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wait_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "PostgreSQL on {port} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl PrimaryWithStandby {
    /// Starts a primary, copies it with `pg_basebackup`, and starts the copy as a hot standby
    /// applying WAL `apply_delay` late.
    pub fn start(apply_delay: Duration) -> PrimaryWithStandby {
        let dir = std::env::temp_dir().join(format!(
            "zdm-standby-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        if is_root() {
            let _ = Command::new("chown")
                .args(["postgres:postgres", dir.to_str().expect("utf-8 path")])
                .status();
        }
        let bin = bin_dir();
        let primary = dir.join("primary");
        let standby = dir.join("standby");
        let (pp, sp) = (free_port(), free_port());
        let p = primary.to_str().expect("utf-8 path");
        run(
            &bin.join("initdb"),
            &[
                "-D",
                p,
                "-N",
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-instructions",
            ],
        );
        let opts = |port: u16, d: &Path| {
            format!(
                "-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off -c wal_level=replica -c max_wal_senders=4 -c hot_standby=on",
                d.display()
            )
        };
        run(
            &bin.join("pg_ctl"),
            &[
                "-D",
                p,
                "-o",
                &opts(pp, &dir),
                "-l",
                &format!("{p}.log"),
                "-w",
                "start",
            ],
        );
        wait_ready(pp);
        let s = standby.to_str().expect("utf-8 path");
        run(
            &bin.join("pg_basebackup"),
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &pp.to_string(),
                "-U",
                "postgres",
                "-D",
                s,
                "-R",
                "-X",
                "stream",
            ],
        );
        let delay = format!("-c recovery_min_apply_delay={}ms", apply_delay.as_millis());
        run(
            &bin.join("pg_ctl"),
            &[
                "-D",
                s,
                "-o",
                &format!("{} {delay}", opts(sp, &dir)),
                "-l",
                &format!("{s}.log"),
                "-w",
                "start",
            ],
        );
        wait_ready(sp);
        PrimaryWithStandby {
            primary_url: format!("postgres://postgres@127.0.0.1:{pp}/postgres"),
            standby_url: format!("postgres://postgres@127.0.0.1:{sp}/postgres"),
            dir,
            bin,
            data: vec![standby, primary],
        }
    }
}

impl Drop for PrimaryWithStandby {
    fn drop(&mut self) {
        for d in &self.data {
            let d = d.to_str().unwrap_or_default();
            let _ = as_postgres(
                &self.bin.join("pg_ctl"),
                &["-D", d, "-m", "immediate", "stop"],
            )
            .output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
