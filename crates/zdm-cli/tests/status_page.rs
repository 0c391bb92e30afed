//! The status page in a real browser (headless Chromium through ChromeDriver): it follows a
//! real backfill live without reloading, shows the completed state, stays inert when an error
//! message carries markup, and fits a phone's width. Screenshots are kept as test artifacts.

mod common;

use common::{Env, Listening};
use fantoccini::{Client, ClientBuilder};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn browser() -> (Driver, Client) {
    let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let port = free_port();
    let driver = Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{chromedriver}: {e} (Debian packages chromium and chromium-driver; scripts/test installs them)")
        });
    let driver = Driver(driver);
    let mut caps = serde_json::Map::new();
    let mut chrome = serde_json::json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"]
    });
    if let Ok(bin) = std::env::var("CHROMIUM") {
        chrome["binary"] = bin.into();
    } else if std::path::Path::new("/usr/bin/chromium").exists() {
        chrome["binary"] = "/usr/bin/chromium".into();
    }
    caps.insert("goog:chromeOptions".into(), chrome);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return (driver, c),
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot start a browser session: {e}"),
        }
    }
}

async fn js(c: &Client, script: &str) -> serde_json::Value {
    c.execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"))
}

async fn wait_for(c: &Client, script: &str, what: &str, within: Duration) -> serde_json::Value {
    let deadline = Instant::now() + within;
    loop {
        let v = js(c, script).await;
        if v != serde_json::Value::Null && v != serde_json::Value::Bool(false) {
            return v;
        }
        if Instant::now() > deadline {
            let body = js(c, "return document.body.innerText").await;
            panic!("the page never showed {what}; it shows:\n{body}");
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

fn artifact(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG screenshot");
    let path = artifact(name);
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

/// `zdm serve` for `env`, reading the ledger four times a second.
fn serve(env: &Env) -> Listening {
    Listening::spawn(
        env,
        &["serve", "--listen", "127.0.0.1:0", "--refresh", "250ms"],
        &[],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_page_follows_a_backfill_live_in_a_real_browser() {
    let env = Env::new().await;
    let db = env.db.connect().await;
    db.batch_execute(
        "CREATE TABLE users (id bigserial PRIMARY KEY, name text NOT NULL); \
         INSERT INTO users (name) SELECT 'user ' || g FROM generate_series(1, 200000) g; ANALYZE users",
    )
    .await
    .unwrap();
    assert_eq!(env.run(&["init"]).await.code, 0);
    let server = serve(&env);
    let (_driver, c) = browser().await;
    c.goto(&server.url).await.unwrap();
    wait_for(
        &c,
        "return Number(document.body.dataset.polls || 0) > 0",
        "a first update",
        Duration::from_secs(20),
    )
    .await;
    // Marks this page load: a reload would lose it.
    js(&c, "window.__loadMarker = 'same page'; return true").await;

    let file = env.write(
        "01_shout.yaml",
        "operations:\n  - add_column:\n      table: users\n      column:\n        name: shout\n        type: text\n        nullable: true\n      up: upper(name)\n",
    );
    let mut start = env
        .command(&[
            "start",
            file.to_str().unwrap(),
            "--complete",
            "--batch-target",
            "20ms",
            "--batch-delay",
            "200ms",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let bar = "const p = document.querySelector('progress[data-kind=\"backfill\"][data-subject=\"01_shout\"]'); return p ? [p.value, p.max] : null";
    let mut values: Vec<f64> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut shot = false;
    while start.try_wait().unwrap().is_none() && Instant::now() < deadline {
        if let serde_json::Value::Array(v) = js(&c, bar).await {
            let value = v[0].as_f64().unwrap();
            if values.last() != Some(&value) {
                values.push(value);
            }
            if !shot && value > 0.0 {
                screenshot(&c, "status-page-backfilling.png").await;
                shot = true;
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let status = start.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut start.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "zdm start failed: {stderr}");
    assert!(
        values.len() >= 3 && values.windows(2).all(|w| w[0] < w[1]),
        "the progress bar should advance on its own: {values:?}"
    );
    wait_for(
        &c,
        "const td = document.querySelector('#migrations tr[data-id=\"01_shout\"] td.state'); return td && td.textContent === 'completed'",
        "the migration completed",
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(
        js(&c, "return window.__loadMarker").await,
        "same page",
        "the page reloaded"
    );
    screenshot(&c, "status-page-completed.png").await;

    // An error message full of markup stays text.
    env.write(
        "02_hostile.sql",
        "DO $$ BEGIN RAISE EXCEPTION '<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script>'; END $$;",
    );
    assert_ne!(env.run(&["migrate"]).await.code, 0);
    wait_for(
        &c,
        "const td = document.querySelector('#migrations tr[data-id=\"02_hostile\"] td.notes'); return td && td.textContent.includes('<script>window.__pwned=2</script>')",
        "the hostile error as text",
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(js(&c, "return typeof window.__pwned").await, "undefined");
    assert_eq!(
        js(
            &c,
            "return document.querySelectorAll('main img, main script').length"
        )
        .await,
        0
    );
    assert_eq!(
        js(
            &c,
            "return document.getElementById('health').dataset.status"
        )
        .await,
        "failed"
    );

    // A phone's width: nothing wider than the screen (tables scroll inside their box).
    c.set_window_size(390, 844).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let overflow = js(
        &c,
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
    )
    .await;
    assert!(
        overflow.as_f64().unwrap() <= 1.0,
        "the page is wider than a phone by {overflow} px"
    );
    screenshot(&c, "status-page-phone.png").await;
    c.close().await.unwrap();
}

/// A move on the page: its phase, per-table copy bars at their totals, position, lag chart, and
/// a verification result, all rendered without a script error.
#[tokio::test(flavor = "multi_thread")]
async fn the_status_page_shows_a_move_and_its_verification() {
    use mysql_async::prelude::*;
    let src = zdm_testkit::mariadb::PrivateMariadb::start(&[
        "--log-bin=mysql-bin",
        "--binlog-format=ROW",
        "--server-id=1",
    ]);
    let mut c = mysql_async::Conn::from_url(&src.url).await.unwrap();
    c.query_drop("CREATE DATABASE shop").await.unwrap();
    c.query_drop("CREATE TABLE shop.items (id int PRIMARY KEY, name varchar(20))")
        .await
        .unwrap();
    c.query_drop("USE shop").await.unwrap();
    c.query_drop("INSERT INTO items SELECT seq, concat('item ', seq) FROM seq_1_to_3000")
        .await
        .unwrap();
    let env = Env::new().await;
    let source = format!("{}/shop", src.url);
    let moved = env
        .command(&["move", "start", "--until-caught-up", "--source", &source])
        .output()
        .unwrap();
    assert!(
        moved.status.success(),
        "{}",
        String::from_utf8_lossy(&moved.stderr)
    );
    let verified = env
        .command(&["move", "verify", "--source", &source])
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
    let server = serve(&env);
    let (_driver, b) = browser().await;
    b.goto(&server.url).await.unwrap();
    wait_for(
        &b,
        "return Number(document.body.dataset.polls || 0) > 0",
        "a first update",
        Duration::from_secs(20),
    )
    .await;
    let bar = wait_for(
        &b,
        "const p = document.querySelector('progress[data-kind=\"copy\"][data-table=\"items\"]'); return p ? [p.value, p.max] : null",
        "the copy bar of items",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        bar,
        serde_json::json!([3000, 3000]),
        "a finished copy fills its bar"
    );
    let text = js(&b, "return document.getElementById('moves').innerText").await;
    let text = text.as_str().unwrap();
    assert!(text.contains("move shop"), "{text}");
    assert!(text.contains("mysql-bin."), "no position shown: {text}");
    assert_eq!(
        js(
            &b,
            "return document.querySelectorAll('#moves svg.chart').length"
        )
        .await,
        1
    );
    let verify = js(&b, "return document.getElementById('verify').innerText").await;
    assert!(verify.as_str().unwrap().contains("equal"), "{verify}");
    screenshot(&b, "status-page-move.png").await;
    b.close().await.unwrap();
}
