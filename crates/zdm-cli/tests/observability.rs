//! `zdm serve` and `--metrics-listen` against real databases: metrics that move while a real
//! backfill runs (and parse as valid exposition), health and readiness, the token, an
//! unreachable database, the ledger's `progress` view and `health()`, and the deploy files
//! checked against the metrics the code exports. The browser test is in `status_page.rs`.

mod common;

use common::{get, request, Env, Listening};
use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The value of the series `name{labels}` (labels exactly as exposed, in order), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

/// The exposition parses: promtool's parser (its only complaint may be the OpenMetrics
/// naming of counters' HELP lines) and the official Python client's strict OpenMetrics parser.
fn assert_valid_exposition(text: &str) {
    let mut promtool = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; scripts/test installs it)");
    use std::io::Write;
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for line in said.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            line.contains("no help text")
                && line.split_whitespace().next().unwrap().ends_with("_total"),
            "promtool check metrics: {said}\n--- exposition\n{text}"
        );
    }
    let mut python = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys\nfrom prometheus_client.openmetrics.parser import text_string_to_metric_families as p\nn = sum(1 for _ in p(sys.stdin.read()))\nprint(n)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    python
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = python.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the OpenMetrics parser rejected the exposition: {}\n--- exposition\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn users_table(env: &Env, rows: i64) {
    let c = env.db.connect().await;
    c.batch_execute(&format!(
        "CREATE TABLE users (id bigserial PRIMARY KEY, name text NOT NULL); \
         INSERT INTO users (name) SELECT 'user ' || g FROM generate_series(1, {rows}) g; ANALYZE users"
    ))
    .await
    .unwrap();
}

const ADD_COLUMN: &str = "operations:\n  - add_column:\n      table: users\n      column:\n        name: shout\n        type: text\n        nullable: true\n      up: upper(name)\n";

#[tokio::test(flavor = "multi_thread")]
async fn metrics_listen_shows_a_running_backfill_move() {
    let env = Env::new().await;
    users_table(&env, 200_000).await;
    let file = env.write("01_shout.yaml", ADD_COLUMN);
    // Small, paced batches: the backfill takes several seconds and several scrapes see it.
    let mut run = Listening::spawn(
        &env,
        &[
            "start",
            file.to_str().unwrap(),
            "--complete",
            "--batch-target",
            "20ms",
            "--batch-delay",
            "200ms",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    let done_series = r#"zdm_backfill_rows_done_total{migration="01_shout",table="users"}"#;
    let mut seen = Vec::new();
    let mut rates = Vec::new();
    let mut mid_run = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    while run.running() && Instant::now() < deadline {
        // A refused or cut request: the process ended between the check and the request, or
        // a loaded machine dropped it; the loop condition tells which.
        let Ok(r) = reqwest::get(format!("{}/metrics", run.url)).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let Ok(text) = r.text().await else {
            continue;
        };
        if let Some(v) = sample(&text, done_series) {
            if seen.last() != Some(&v) {
                seen.push(v);
            }
            if let Some(rate) = sample(
                &text,
                r#"zdm_backfill_rows_per_second{migration="01_shout",table="users"}"#,
            ) {
                rates.push(rate);
            }
            if v > 0.0 && v < 200_000.0 {
                mid_run = Some(text);
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(!run.running(), "the backfill still runs after two minutes");
    let code = run.wait();
    assert_eq!(code, 0, "{}", run.output.lock().unwrap());
    assert!(
        seen.len() >= 3,
        "rows done should be seen increasing, saw {seen:?}"
    );
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "rows done went backwards: {seen:?}"
    );
    assert!(
        rates.iter().any(|r| *r > 0.0),
        "the rate never rose above 0: {rates:?}"
    );
    let text = mid_run.expect("a scrape in the middle of the backfill");
    let estimated = sample(
        &text,
        r#"zdm_backfill_rows_estimated{migration="01_shout",table="users"}"#,
    )
    .unwrap();
    assert!(
        (180_000.0..=220_000.0).contains(&estimated),
        "estimate {estimated}"
    );
    assert_eq!(
        sample(
            &text,
            r#"zdm_backfill_in_progress{migration="01_shout",table="users"}"#
        ),
        Some(1.0)
    );
    assert!(
        sample(
            &text,
            r#"zdm_backfill_batch_duration_seconds_count{migration="01_shout",table="users"}"#
        )
        .unwrap()
            > 0.0
    );
    assert!(sample(&text, r#"zdm_throttled_seconds_total{cause="delay"}"#).unwrap() > 0.0);
    assert_eq!(
        sample(
            &text,
            r#"zdm_migration_phase{migration="01_shout",phase="running"}"#
        ),
        Some(1.0)
    );
    assert_valid_exposition(&text);
    let status = env.status_json().await;
    assert_eq!(common::state_of(&status, "01_shout")["state"], "completed");
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_health_readiness_status_and_the_ledger_views() {
    let env = Env::new().await;
    users_table(&env, 1000).await;
    env.write("001_ok.sql", "CREATE TABLE t (id int PRIMARY KEY);");
    assert_eq!(env.run(&["migrate"]).await.code, 0);
    let serve = Listening::spawn(
        &env,
        &["serve", "--listen", "127.0.0.1:0", "--refresh", "200ms"],
        &[],
    );
    let base = serve.url.clone();

    let h = get(&format!("{base}/healthz")).await;
    assert_eq!(h.status, 200, "{}", h.body);
    assert_eq!(h.json()["status"], "ok");
    let r = get(&format!("{base}/readyz")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["health"]["status"], "healthy");

    // /api/status carries `zdm status --json`, field for field, plus the other sections.
    let api = get(&format!("{base}/api/status")).await.json();
    let cli = env.status_json().await;
    for (k, v) in cli.as_object().unwrap() {
        assert_eq!(&api[k], v, "field {k} differs from zdm status --json");
    }
    for k in ["moves", "verify", "events", "health", "lag_history"] {
        assert!(api.get(k).is_some(), "no {k} in /api/status");
    }

    // Read-only: nothing but GET is accepted; unknown paths are 404.
    for path in ["/api/status", "/metrics", "/"] {
        let r = request(reqwest::Method::POST, &format!("{base}{path}"), &[]).await;
        assert_eq!(r.status, 405, "POST {path}");
    }
    assert_eq!(get(&format!("{base}/admin")).await.status, 404);

    // psql view of the same: health() healthy, progress lists the migration.
    let c = env.db.connect().await;
    let row = c
        .query_one("SELECT status, details FROM zdm.health()", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "healthy");

    // A failed migration: readiness drops, health() says failed, the view has its error.
    env.write("002_fail.sql", "SELECT 1/0;");
    assert_ne!(env.run(&["migrate"]).await.code, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    let unready = loop {
        let r = get(&format!("{base}/readyz")).await;
        if r.status == 503 || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(unready.status, 503, "{}", unready.body);
    let reasons = unready.json()["reasons"].to_string();
    assert!(reasons.contains("migration 002_fail failed"), "{reasons}");
    assert_eq!(get(&format!("{base}/healthz")).await.status, 200);
    let metrics = get(&format!("{base}/metrics")).await.body;
    assert_eq!(
        sample(&metrics, r#"zdm_migrations{state="failed"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&metrics, r#"zdm_migrations{state="completed"}"#),
        Some(1.0)
    );
    assert_valid_exposition(&metrics);
    let row = c
        .query_one("SELECT status, details FROM zdm.health()", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "failed");
    let details: serde_json::Value = row.get(1);
    assert_eq!(details["migrations_failed"], 1);
    assert_eq!(details["failures"][0]["migration"], "002_fail");
    let err: Option<String> = c
        .query_one(
            "SELECT last_error FROM zdm.progress WHERE kind = 'migration' AND id = '002_fail'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(err.unwrap().contains("division by zero"));

    // Readiness that ignores failures stays ready.
    let lenient = Listening::spawn(
        &env,
        &["serve", "--listen", "127.0.0.1:0", "--ready-ignore-failed"],
        &[],
    );
    assert_eq!(get(&format!("{}/readyz", lenient.url)).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_needs_a_token_off_loopback_and_checks_it() {
    let env = Env::new().await;
    assert_eq!(env.run(&["init"]).await.code, 0);
    let refused = env.run(&["serve", "--listen", "0.0.0.0:0"]).await;
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("--token"), "{refused:?}");

    let token = "s3cr3t-token-for-the-test";
    let serve = Listening::spawn(
        &env,
        &["serve", "--listen", "0.0.0.0:0"],
        &[("ZDM_SERVE_TOKEN", token)],
    );
    let port = serve.url.rsplit(':').next().unwrap().to_string();
    let base = format!("http://127.0.0.1:{port}");
    let bearer = format!("Bearer {token}");
    let cookie = format!("zdm_token={token}");
    for path in ["/metrics", "/api/status", "/healthz", "/readyz", "/"] {
        let url = format!("{base}{path}");
        assert_eq!(get(&url).await.status, 401, "{path} without a token");
        let wrong = request(
            reqwest::Method::GET,
            &url,
            &[("authorization", "Bearer nope")],
        )
        .await;
        assert_eq!(wrong.status, 401, "{path} with a wrong token");
        assert!(!wrong.body.contains(token));
        let ok = request(reqwest::Method::GET, &url, &[("authorization", &bearer)]).await;
        assert_eq!(ok.status, 200, "{path} with the token: {}", ok.body);
        let ok = request(reqwest::Method::GET, &url, &[("cookie", &cookie)]).await;
        assert_eq!(ok.status, 200, "{path} with the cookie");
    }
    // A browser opens /?token=… once: redirected to / with the token in an HttpOnly cookie.
    let r = get(&format!("{base}/?token={token}")).await;
    assert_eq!(r.status, 303);
    let set = r.headers["set-cookie"].to_str().unwrap();
    assert!(
        set.starts_with(&cookie) && set.contains("HttpOnly"),
        "{set}"
    );
    assert_eq!(get(&format!("{base}/?token=wrong")).await.status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_reports_an_unreachable_database_without_its_password() {
    let env = Env::new().await;
    let password = "hunter2-very-secret";
    let url = format!("postgres://postgres:{password}@127.0.0.1:1/nowhere");
    let serve = Listening::spawn(
        &env,
        &["serve", "--listen", "127.0.0.1:0", "--refresh", "200ms"],
        &[("DATABASE_URL", &url)],
    );
    let base = serve.url.clone();
    let h = get(&format!("{base}/healthz")).await;
    assert_eq!(h.status, 503, "{}", h.body);
    assert!(h.body.contains("does not answer"), "{}", h.body);
    assert_eq!(get(&format!("{base}/readyz")).await.status, 503);
    let metrics = get(&format!("{base}/metrics")).await.body;
    assert_eq!(sample(&metrics, "zdm_ledger_up"), Some(0.0));
    assert_valid_exposition(&metrics);
    let api = get(&format!("{base}/api/status")).await;
    assert_eq!(api.json()["ledger_up"], false);
    tokio::time::sleep(Duration::from_millis(500)).await;
    for text in [&h.body, &metrics, &api.body, &*serve.output.lock().unwrap()] {
        assert!(!text.contains(password), "password shown: {text}");
    }
}

/// Every metric a dashboard panel or an alert rule queries is one the code exports; the rules
/// pass `promtool check rules` and their unit tests.
#[tokio::test(flavor = "multi_thread")]
async fn deploy_dashboard_and_alert_rules_match_the_exported_metrics() {
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let rules = deploy.join("prometheus/zdm-alerts.yml");
    let rule_tests = deploy.join("prometheus/zdm-alerts.test.yml");
    for args in [
        vec!["check", "rules", rules.to_str().unwrap()],
        vec!["test", "rules", rule_tests.to_str().unwrap()],
    ] {
        let out = std::process::Command::new("promtool")
            .args(&args)
            .output()
            .expect("promtool (Debian package prometheus; scripts/test installs it)");
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let env = Env::new().await;
    assert_eq!(env.run(&["init"]).await.code, 0);
    let serve = Listening::spawn(&env, &["serve", "--listen", "127.0.0.1:0"], &[]);
    let text = get(&format!("{}/metrics", serve.url)).await.body;
    let mut exported = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let mut parts = rest.split_whitespace();
        let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
        match kind {
            "counter" => {
                exported.insert(format!("{name}_total"));
            }
            "histogram" => {
                for suffix in ["_bucket", "_sum", "_count"] {
                    exported.insert(format!("{name}{suffix}"));
                }
            }
            _ => {
                exported.insert(name.to_string());
            }
        }
    }
    // The names the issue fixed, and the ones dashboards were promised.
    for name in [
        "zdm_migrations",
        "zdm_backfill_rows_done_total",
        "zdm_backfill_rows_estimated",
        "zdm_backfill_batch_duration_seconds_bucket",
        "zdm_lock_retries_total",
        "zdm_throttled_seconds_total",
        "zdm_move_rows_copied_total",
        "zdm_move_lag_seconds",
        "zdm_move_applied_events_total",
        "zdm_verify_differences",
    ] {
        assert!(exported.contains(name), "{name} is not exported:\n{text}");
    }

    let metric_names = |s: &str| -> Vec<String> {
        let mut out = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while let Some(at) = s[i..].find("zdm_") {
            let start = i + at;
            let boundary =
                start == 0 || !(b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'_');
            let mut end = start;
            while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
                end += 1;
            }
            if boundary {
                out.push(s[start..end].to_string());
            }
            i = end;
        }
        out
    };
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(deploy.join("grafana/zdm-dashboard.json")).unwrap(),
    )
    .unwrap();
    let mut queried = Vec::new();
    fn exprs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("expr" | "query" | "definition", serde_json::Value::String(s)) => {
                            out.push(s.clone())
                        }
                        _ => exprs(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| exprs(v, out)),
            _ => {}
        }
    }
    exprs(&dashboard, &mut queried);
    assert!(queried.len() >= 10, "too few panel queries: {queried:?}");
    let rules_text = std::fs::read_to_string(&rules).unwrap();
    // Rule expressions span lines (`expr: |`): every name anywhere in the rules must exist.
    let rule_exprs: Vec<String> = vec![rules_text.clone()];
    assert!(metric_names(&rules_text).len() >= 7, "{rules_text}");
    for q in queried.iter().chain(&rule_exprs) {
        for name in metric_names(q) {
            assert!(
                exported.contains(&name),
                "`{q}` queries {name}, which zdm does not export"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_verification_reaches_the_metrics_and_the_page_data() {
    let env = Env::new().await;
    let source = zdm_testkit::TestDb::create().await;
    let setup = "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 500) g";
    source.connect().await.batch_execute(setup).await.unwrap();
    let target = env.db.connect().await;
    target.batch_execute(setup).await.unwrap();
    target
        .batch_execute("UPDATE t SET v = 'changed' WHERE id = 7")
        .await
        .unwrap();
    assert_eq!(env.run(&["init"]).await.code, 0);
    let r = env
        .run(&["verify", "--source", &source.url, "--target", &env.db.url])
        .await;
    assert_eq!(r.code, 1, "{r:?}");
    let serve = Listening::spawn(&env, &["serve", "--listen", "127.0.0.1:0"], &[]);
    let metrics = get(&format!("{}/metrics", serve.url)).await.body;
    assert_eq!(
        sample(&metrics, r#"zdm_verify_equal{move="standalone"}"#),
        Some(0.0),
        "{metrics}"
    );
    let differing: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with(r#"zdm_verify_differences{move="standalone""#))
        .collect();
    assert_eq!(differing.len(), 1, "{metrics}");
    assert!(differing[0].ends_with(" 1.0"), "{differing:?}");
    assert_eq!(
        sample(&metrics, r#"zdm_verify_rows_compared{move="standalone"}"#),
        Some(500.0)
    );
    assert_valid_exposition(&metrics);
    let api = get(&format!("{}/api/status", serve.url)).await.json();
    assert_eq!(api["verify"][0]["equal"], false);
    assert_eq!(api["verify"][0]["differences"], 1);
}
