//! Drives the real `zdm` binary against a fresh database per test.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
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
