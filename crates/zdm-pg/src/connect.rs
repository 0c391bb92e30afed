//! Connecting to PostgreSQL: URL or key=value connection strings, TLS through rustls honouring
//! libpq's `sslmode` (disable, prefer, require, verify-ca, verify-full) and `sslrootcert`, and a
//! redacted form of the connection string for anything that is displayed.
//!
//! tokio-postgres itself only knows disable/prefer/require and never verifies certificates on its
//! own, so the verify modes and `sslrootcert` are taken out of the string here and implemented with
//! rustls verifiers. As in libpq, `prefer` and `require` encrypt without verifying the server.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::str::FromStr;
use std::sync::Arc;
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres::{Client, Config, NoTls};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("invalid connection string: {0}")]
    InvalidUrl(String),
    #[error("TLS set-up failed: {0}")]
    Tls(String),
    #[error("cannot connect to {target}: {message}")]
    Connect { target: String, message: String },
}

/// A parsed connection string: tokio-postgres config plus zdm's TLS settings.
#[derive(Clone)]
pub struct ConnectionSpec {
    config: Config,
    ssl_mode: SslMode,
    root_cert: Option<String>,
    redacted: String,
    password: Option<String>,
}

impl std::fmt::Debug for ConnectionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSpec")
            .field("url", &self.redacted)
            .field("ssl_mode", &self.ssl_mode)
            .finish()
    }
}

impl ConnectionSpec {
    pub fn parse(conn: &str) -> Result<Self, ConnectError> {
        let password = extract_password(conn);
        let redact = |msg: String| match &password {
            Some(p) if !p.is_empty() => msg.replace(p.as_str(), "***"),
            _ => msg,
        };
        let (rest, ssl_mode, root_cert) =
            take_tls_params(conn).map_err(|m| ConnectError::InvalidUrl(redact(m)))?;
        let mut config =
            Config::from_str(&rest).map_err(|e| ConnectError::InvalidUrl(redact(e.to_string())))?;
        config.ssl_mode(match ssl_mode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            _ => PgSslMode::Require,
        });
        Ok(ConnectionSpec {
            config,
            ssl_mode,
            root_cert,
            redacted: redact_url(conn),
            password,
        })
    }

    /// The connection string with its password replaced by `***`: the only form ever displayed.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The server this connects to (hosts and ports), to tell whether two specs share one.
    pub fn server(&self) -> String {
        format!(
            "{:?} {:?}",
            self.config.get_hosts(),
            self.config.get_ports()
        )
    }

    /// Remove the password from any message (defence in depth for errors built elsewhere).
    pub fn scrub(&self, message: &str) -> String {
        match &self.password {
            Some(p) if !p.is_empty() => message.replace(p.as_str(), "***"),
            _ => message.to_string(),
        }
    }

    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    pub fn dbname(&self) -> Option<&str> {
        self.config.get_dbname()
    }

    /// A copy that connects to another database of the same server.
    pub fn with_dbname(&self, dbname: &str) -> Self {
        let mut other = self.clone();
        other.config.dbname(dbname);
        other
    }

    fn target(&self) -> String {
        let host = self
            .config
            .get_hosts()
            .iter()
            .map(|h| match h {
                tokio_postgres::config::Host::Tcp(h) => h.clone(),
                #[cfg(unix)]
                tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
            })
            .collect::<Vec<_>>()
            .join(",");
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        format!("{host}:{port}/{}", self.config.get_dbname().unwrap_or(""))
    }

    /// Open a connection, spawning its driver task on the current runtime. `application_name`
    /// makes zdm's sessions recognisable in `pg_stat_activity` (and in the runner-lock message).
    pub async fn connect(&self, application_name: &str) -> Result<Client, ConnectError> {
        let mut config = self.config.clone();
        config.application_name(application_name);
        let fail = |e: tokio_postgres::Error| ConnectError::Connect {
            target: self.target(),
            message: self.scrub(&crate::error::describe_pg_error(&e)),
        };
        if self.ssl_mode == SslMode::Disable {
            let (client, connection) = config.connect(NoTls).await.map_err(fail)?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            return Ok(client);
        }
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(self.tls_config()?);
        let (client, connection) = config.connect(tls).await.map_err(fail)?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    fn tls_config(&self) -> Result<ClientConfig, ConnectError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ConnectError::Tls(e.to_string()))?;
        let config = match self.ssl_mode {
            SslMode::Disable | SslMode::Prefer | SslMode::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
                .with_no_client_auth(),
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let roots = Arc::new(self.root_store()?);
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| ConnectError::Tls(e.to_string()))?;
                let verifier = Verify {
                    inner: webpki,
                    check_name: self.ssl_mode == SslMode::VerifyFull,
                };
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(verifier))
                    .with_no_client_auth()
            }
        };
        Ok(config)
    }

    fn root_store(&self) -> Result<RootCertStore, ConnectError> {
        let mut store = RootCertStore::empty();
        match &self.root_cert {
            Some(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| ConnectError::Tls(format!("sslrootcert {path}: {e}")))?;
                for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                    let cert =
                        cert.map_err(|e| ConnectError::Tls(format!("sslrootcert {path}: {e}")))?;
                    store
                        .add(cert)
                        .map_err(|e| ConnectError::Tls(format!("sslrootcert {path}: {e}")))?;
                }
            }
            None => {
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = store.add(cert);
                }
            }
        }
        if store.is_empty() {
            return Err(ConnectError::Tls(
                "no trusted root certificates (set sslrootcert=<file>)".into(),
            ));
        }
        Ok(store)
    }
}

/// Splits `sslmode` and `sslrootcert` off a URL or key=value string.
fn take_tls_params(conn: &str) -> Result<(String, SslMode, Option<String>), String> {
    let parse_mode = |v: &str| match v {
        "disable" => Ok(SslMode::Disable),
        "allow" | "prefer" => Ok(SslMode::Prefer),
        "require" => Ok(SslMode::Require),
        "verify-ca" => Ok(SslMode::VerifyCa),
        "verify-full" => Ok(SslMode::VerifyFull),
        other => Err(format!(
            "unknown sslmode `{other}` (disable, prefer, require, verify-ca, verify-full)"
        )),
    };
    let mut mode = SslMode::Prefer;
    let mut root = None;
    if conn.starts_with("postgres://") || conn.starts_with("postgresql://") {
        let mut url = url::Url::parse(conn).map_err(|e| e.to_string())?;
        let mut kept = Vec::new();
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "sslmode" => mode = parse_mode(&v)?,
                "sslrootcert" => root = Some(v.into_owned()),
                _ => kept.push((k.into_owned(), v.into_owned())),
            }
        }
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
        return Ok((url.to_string(), mode, root));
    }
    let mut kept = Vec::new();
    for part in conn.split_whitespace() {
        match part.split_once('=') {
            Some(("sslmode", v)) => mode = parse_mode(v)?,
            Some(("sslrootcert", v)) => root = Some(v.to_string()),
            _ => kept.push(part),
        }
    }
    Ok((kept.join(" "), mode, root))
}

fn extract_password(conn: &str) -> Option<String> {
    if let Ok(url) = url::Url::parse(conn) {
        if matches!(url.scheme(), "postgres" | "postgresql") {
            let raw = url.password()?;
            let decoded = url::form_urlencoded::parse(format!("p={raw}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned());
            return decoded.or_else(|| Some(raw.to_string()));
        }
    }
    conn.split_whitespace()
        .find_map(|p| p.strip_prefix("password="))
        .map(|p| p.trim_matches('\'').to_string())
}

/// Replace the password of a URL or key=value connection string with `***`.
/// `conn` selecting `schema` first in the search path, in a form libpq (psql, psycopg, most
/// drivers) reads: the space of `-c search_path=…` as `%20` (libpq does not decode `+`), the
/// schema quoted as an identifier. The password is left out (libpq then uses PGPASSWORD or
/// ~/.pgpass), so the printed URL can be shared.
pub fn url_with_search_path(conn: &str, schema: &str) -> String {
    let option = format!("-c search_path={}", zdm_core::ident::quote_ident(schema));
    if let Ok(mut url) = url::Url::parse(conn) {
        let _ = url.set_password(None);
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "password" && k != "options")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.set_query(None);
        let pct = |s: &str| -> String {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        let mut query: Vec<String> = kept
            .iter()
            .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
            .collect();
        query.push(format!("options={}", pct(&option)));
        return format!("{url}?{}", query.join("&"));
    }
    // key=value form: options in single quotes, backslash-escaped.
    let rest: Vec<&str> = conn
        .split_whitespace()
        .filter(|p| !p.starts_with("password=") && !p.starts_with("options="))
        .collect();
    let quoted = option.replace('\\', "\\\\").replace('\'', "\\'");
    format!("{} options='{quoted}'", rest.join(" "))
}

pub fn redact_url(conn: &str) -> String {
    if let Ok(mut url) = url::Url::parse(conn) {
        if url.password().is_some() {
            let _ = url.set_password(Some("***"));
        }
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                if k == "password" {
                    (k.into_owned(), "***".into())
                } else {
                    (k.into_owned(), v.into_owned())
                }
            })
            .collect();
        if !pairs.is_empty() {
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        return url.to_string();
    }
    conn.split_whitespace()
        .map(|p| {
            if p.starts_with("password=") {
                "password=***".to_string()
            } else {
                p.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `sslmode=prefer/require`: encrypted, server not authenticated (libpq semantics), but the
/// handshake signatures are still checked.
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// verify-ca / verify-full: the chain must lead to a trusted root; verify-full also checks the name.
#[derive(Debug)]
struct Verify {
    inner: Arc<WebPkiServerVerifier>,
    check_name: bool,
}

impl ServerCertVerifier for Verify {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:s3cret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact_url("host=h password=s3cret user=u"),
            "host=h password=*** user=u"
        );
        assert!(!redact_url("postgres://u@h/db?password=s3cret").contains("s3cret"));
    }

    #[test]
    fn takes_verify_modes_out_of_the_url() {
        let (rest, mode, root) = take_tls_params(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=/ca.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(mode, SslMode::VerifyFull);
        assert_eq!(root.as_deref(), Some("/ca.pem"));
        assert_eq!(rest, "postgres://u@h/db?connect_timeout=3");
        assert!(take_tls_params("host=h sslmode=bogus").is_err());
    }

    #[test]
    fn parse_errors_do_not_leak_the_password() {
        let err = ConnectionSpec::parse("postgres://u:s3cret@h:notaport/db")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cret"), "{err}");
    }
}
