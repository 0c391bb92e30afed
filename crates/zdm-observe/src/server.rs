//! The HTTP side: `zdm serve` and `--metrics-listen`. A background task reads the ledger every
//! `refresh` (one read-only transaction); requests answer from the latest read, so a scrape
//! costs no query and a slow or unreachable database never makes a request hang.
//!
//! Read-only by construction: every route is a GET. Off loopback a token is required (bearer
//! header or cookie), compared as SHA-256 digests in constant time.

use crate::health::{self, ReadyPolicy};
use crate::metrics;
use crate::snapshot::{self, LagHistory, Snapshot};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use zdm_core::source::MigrationFile;
use zdm_pg::{ConnectionSpec, Ledger};

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub token: Option<String>,
    pub ready: ReadyPolicy,
    /// How often the ledger is read.
    pub refresh: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("refusing to listen on {0} without a token: pass --token or set ZDM_SERVE_TOKEN (only loopback addresses may go without)")]
    TokenRequired(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the server stopped: {0}")]
    Io(#[from] std::io::Error),
}

/// Where the snapshots come from.
#[derive(Debug, Clone)]
pub struct LedgerSource {
    pub spec: ConnectionSpec,
    pub ledger: Ledger,
    pub files: Vec<MigrationFile>,
}

struct Shared {
    latest: RwLock<(Arc<Snapshot>, Instant)>,
    token: Option<[u8; 32]>,
    ready: ReadyPolicy,
    stale_after: Duration,
}

impl Shared {
    fn latest(&self) -> (Arc<Snapshot>, Duration) {
        let guard = self.latest.read().expect("snapshot lock");
        (guard.0.clone(), guard.1.elapsed())
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A bound, running server.
pub struct Running {
    pub addr: SocketAddr,
    pub task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

/// Binds and starts serving in the background; returns once the first read of the ledger is
/// done, so the first request already has data.
pub async fn start(opts: ServeOptions, source: LedgerSource) -> Result<Running, ServeError> {
    if !opts.listen.ip().is_loopback() && opts.token.as_deref().is_none_or(str::is_empty) {
        return Err(ServeError::TokenRequired(opts.listen));
    }
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: opts.listen,
            source,
        })?;
    let addr = listener.local_addr()?;
    let mut reader = Reader::new(source);
    let first = reader.read(opts.refresh).await;
    let shared = Arc::new(Shared {
        latest: RwLock::new((Arc::new(first), Instant::now())),
        token: opts.token.as_deref().map(digest),
        ready: opts.ready.clone(),
        // Three missed refreshes (at least 10 s) make the process unhealthy.
        stale_after: (opts.refresh * 3).max(Duration::from_secs(10)),
    });
    tokio::spawn(refresh_loop(reader, shared.clone(), opts.refresh));
    let app = router(shared);
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await?;
        Ok(())
    });
    Ok(Running { addr, task })
}

struct Reader {
    source: LedgerSource,
    client: Option<tokio_postgres::Client>,
    history: LagHistory,
}

impl Reader {
    fn new(source: LedgerSource) -> Reader {
        Reader {
            source,
            client: None,
            history: LagHistory::default(),
        }
    }

    async fn read(&mut self, every: Duration) -> Snapshot {
        let began = Instant::now();
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            match self.source.spec.connect("zdm serve").await {
                Ok(c) => self.client = Some(c),
                Err(e) => return self.down(e.to_string(), began),
            }
        }
        let c = self.client.as_ref().expect("connected");
        match snapshot::read(c, &self.source.ledger, &self.source.files).await {
            Ok(mut s) => {
                self.history.record(&s, every.max(Duration::from_secs(5)));
                s.lag_history = self.history.get();
                s
            }
            Err(e) => {
                self.client = None;
                self.down(e.to_string(), began)
            }
        }
    }

    fn down(&self, error: String, began: Instant) -> Snapshot {
        let error = self.source.spec.scrub(&error);
        tracing::warn!("reading the ledger failed: {error}");
        Snapshot::down(error, began.elapsed())
    }
}

async fn refresh_loop(mut reader: Reader, shared: Arc<Shared>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let s = reader.read(every).await;
        let mut guard = shared.latest.write().expect("snapshot lock");
        // A failed read replaces the data (the page must not show stale numbers as live) but
        // keeps the time of the last good one, which is what staleness is measured from.
        let at = if s.ledger_up { Instant::now() } else { guard.1 };
        *guard = (Arc::new(s), at);
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/app.js", get(asset_js))
        .route("/style.css", get(asset_css))
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/status", get(api_status))
        .layer(middleware::from_fn_with_state(shared.clone(), authorize))
        .with_state(shared)
}

const TOKEN_COOKIE: &str = "zdm_token";

fn presented_token(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(t) = v.strip_prefix("Bearer ") {
            return Some(t.trim().to_string());
        }
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == TOKEN_COOKIE).then(|| v.to_string())
        })
}

async fn authorize(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    request: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let Some(expected) = shared.token else {
        return next.run(request).await;
    };
    let matches = |t: &str| bool::from(digest(t).ct_eq(&expected));
    // A browser opens `/?token=…` once: the token moves into a cookie and out of the address bar.
    if let Some(t) = query.get("token") {
        if request.uri().path() == "/" && matches(t) {
            let mut r = Redirect::to("/").into_response();
            let cookie = format!("{TOKEN_COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict");
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            return r;
        }
    }
    match presented_token(request.headers()) {
        Some(t) if matches(&t) => next.run(request).await,
        _ => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(serde_json::json!({ "error": "a valid token is required" })),
        )
            .into_response(),
    }
}

const INDEX_HTML: &str = include_str!("page/index.html");
const APP_JS: &str = include_str!("page/app.js");
const STYLE_CSS: &str = include_str!("page/style.css");

/// The page loads nothing from elsewhere and runs no inline script: data only ever reaches it
/// as JSON and is written into the DOM as text.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn page() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

async fn asset_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn asset_css() -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

async fn metrics_text(State(shared): State<Arc<Shared>>) -> Response {
    let (s, _) = shared.latest();
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        metrics::encode(&s),
    )
        .into_response()
}

fn verdict(v: health::Verdict) -> Response {
    let code = if v.ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(v.body)).into_response()
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    let (s, age) = shared.latest();
    verdict(health::liveness(&s, age, shared.stale_after))
}

async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    let (s, age) = shared.latest();
    verdict(health::readiness(
        &s,
        age,
        shared.stale_after,
        &shared.ready,
    ))
}

async fn api_status(State(shared): State<Arc<Shared>>) -> Response {
    let (s, _) = shared.latest();
    // Serialised straight from the shared snapshot.
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(&*s)).into_response()
}
