//! Drives the real `zdm` binary against a fresh database per test.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zdm_testkit::TestDb;

pub struct Env {
    pub db: TestDb,
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn zdm_bin() -> &'static str {
    env!("CARGO_BIN_EXE_zdm")
}

impl Env {
    pub async fn new() -> Env {
        Env {
            db: TestDb::create().await,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, body: &str) -> PathBuf {
        let p = self.dir().join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(zdm_bin());
        c.env("DATABASE_URL", &self.db.url)
            .env("ZDM_DIR", self.dir())
            .env_remove("ZDM_SCHEMA")
            .env_remove("ZDM_LOCK_TIMEOUT")
            // Tests write through the old version and complete at once; the gate that waits
            // for those writes to stop has its own test, which sets the window.
            .env("ZDM_OLD_WRITES_WINDOW", "0s")
            // Dozens of backfills under load share two cores here; yielding to the load (the
            // default) is exercised by the live-load test and the bench, not by every test.
            .env("ZDM_NICE_RATIO", "0")
            .args(args)
            .stdin(Stdio::null());
        c
    }

    /// Run zdm to completion (off the async runtime's threads).
    pub async fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.command(args);
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        to_run(out)
    }

    pub async fn status_json(&self) -> serde_json::Value {
        let r = self.run(&["status", "--json"]).await;
        assert_eq!(r.code, 0, "{r:?}");
        serde_json::from_str(&r.stdout).unwrap()
    }

    pub async fn query_i64(&self, sql: &str) -> i64 {
        let c = self.db.connect().await;
        c.query_one(sql, &[]).await.unwrap().get(0)
    }

    pub async fn events(&self, id: &str) -> Vec<String> {
        let c = self.db.connect().await;
        c.query(
            "SELECT message FROM zdm.events WHERE migration_id = $1 ORDER BY id",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
    }
}

pub fn to_run(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn state_of(status: &serde_json::Value, id: &str) -> serde_json::Value {
    status["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in status: {status}"))
        .clone()
}

/// A zdm process that announced an address on stdout or stderr; killed when dropped.
pub struct Listening {
    child: Child,
    pub url: String,
    pub output: Arc<Mutex<String>>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Listening {
    /// Starts `args` and waits for the line announcing `http://…`.
    pub fn spawn(env: &Env, args: &[&str], extra_env: &[(&str, &str)]) -> Listening {
        let mut cmd = env.command(args);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = output.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(i) = line.find("http://") {
                        let _ = tx.send(line[i..].trim().to_string());
                    }
                    output.lock().unwrap().push_str(&(line + "\n"));
                }
            });
        }
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                panic!(
                    "no address announced by zdm {args:?}:\n{}",
                    output.lock().unwrap()
                )
            });
        Listening { child, url, output }
    }

    pub fn wait(&mut self) -> i32 {
        self.child.wait().unwrap().code().unwrap_or(-1)
    }

    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

pub struct Response {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

pub async fn request(method: reqwest::Method, url: &str, headers: &[(&str, &str)]) -> Response {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client.request(method, url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
    Response {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.text().await.unwrap(),
    }
}

pub async fn get(url: &str) -> Response {
    request(reqwest::Method::GET, url, &[]).await
}
