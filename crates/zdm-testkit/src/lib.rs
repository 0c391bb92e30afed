//! Test harness: every test gets a fresh PostgreSQL database of its own on the server named by
//! `ZDM_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped when
//! the test ends, so tests run in parallel and never see each other's state.

pub mod mariadb;
pub mod standby;

use rand::Rng;
use tokio_postgres::{Client, NoTls};

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn admin_url() -> String {
    std::env::var("ZDM_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_string())
}

/// A database that exists for one test.
pub struct TestDb {
    pub name: String,
    pub url: String,
    admin: String,
}

async fn connect_url(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test server ({}): {e}", redact(url)));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// `url` pointing at database `db` instead.
pub fn url_for_db(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).expect("ZDM_TEST_DATABASE_URL must be a postgres:// URL");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

impl TestDb {
    pub async fn create() -> TestDb {
        let admin = admin_url();
        let name = format!(
            "zdm_test_{}_{:08x}",
            std::process::id(),
            rand::thread_rng().gen::<u32>()
        );
        let client = connect_url(&admin).await;
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let url = url_for_db(&admin, &name);
        TestDb { name, url, admin }
    }

    /// A plain connection to the test database (no lock_timeout, like an application's).
    pub async fn connect(&self) -> Client {
        connect_url(&self.url).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot block on itself: use a thread with a
        // runtime of its own.
        let admin = self.admin.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok((client, conn)) = tokio_postgres::connect(&admin, NoTls).await {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}
