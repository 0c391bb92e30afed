//! MariaDB for tests: the shared server named by `ZDM_TEST_MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306`), or a private `mariadbd` started in a temporary directory on a
//! free port when a test needs server options the shared one lacks (binary log, performance
//! schema). The private server is shut down and its directory removed when dropped.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306";

pub fn shared_url() -> String {
    std::env::var("ZDM_TEST_MYSQL_URL").unwrap_or_else(|_| DEFAULT_MYSQL_URL.to_string())
}

pub struct PrivateMariadb {
    pub port: u16,
    pub url: String,
    dir: PathBuf,
    child: Child,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl PrivateMariadb {
    /// Initialise a data directory and start `mariadbd` with `extra` options; waits until it
    /// accepts connections (as `root`, no password, over TCP).
    pub fn start(extra: &[&str]) -> PrivateMariadb {
        let dir = std::env::temp_dir().join(format!(
            "zdm-mariadb-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("temp dir");
        let user = if is_root() {
            vec!["--user=root"]
        } else {
            vec![]
        };
        let install_log = dir.join("install.log");
        let mut attempts = 0;
        loop {
            attempts += 1;
            let log = std::fs::File::create(&install_log).expect("log file");
            let status = Command::new("mariadb-install-db")
                .arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .arg("--auth-root-authentication-method=normal")
                .arg("--skip-test-db")
                .args(&user)
                .stdout(Stdio::from(log.try_clone().expect("log file")))
                .stderr(Stdio::from(log))
                .status()
                .expect("mariadb-install-db (apt-get install mariadb-server)");
            if status.success() {
                break;
            }
            // Seen failing now and then when several tests initialise servers at once: retry on
            // a clean directory, then give up with what it said.
            assert!(
                attempts < 3,
                "mariadb-install-db failed: {}",
                std::fs::read_to_string(&install_log).unwrap_or_default()
            );
            let _ = std::fs::remove_dir_all(&data);
            std::fs::create_dir_all(&data).expect("temp dir");
            std::thread::sleep(Duration::from_millis(200));
        }
        let port = free_port();
        let child = Command::new("mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", dir.join("sock").display()))
            .arg(format!("--pid-file={}", dir.join("pid").display()))
            .arg("--skip-grant-tables=0")
            .args(&user)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("err.log")).expect("log file"),
            ))
            .spawn()
            .expect("mariadbd");
        let url = format!("mysql://root@127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mariadbd did not start: {}",
                std::fs::read_to_string(dir.join("err.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        PrivateMariadb {
            port,
            url,
            dir,
            child,
        }
    }
}

fn is_root() -> bool {
    std::env::var("USER").map(|u| u == "root").unwrap_or(false)
        || Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0"))
            .unwrap_or(false)
}

impl Drop for PrivateMariadb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
