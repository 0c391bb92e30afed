//! MySQL/MariaDB connection URLs: `mysql://user:pass@host:port/db?ssl-mode=…&ssl-ca=…`.
//! `ssl-mode` takes MySQL's values (DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY;
//! default PREFERRED, as the mysql client). The password lives only inside [`SourceSpec`]: what
//! is displayed is [`SourceSpec::redacted`], and [`SourceSpec::scrub`] removes it from any text.

use crate::{Error, Result};
use mysql_async::{Conn, Opts, OptsBuilder, SslOpts};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disabled,
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
}

impl std::str::FromStr for SslMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s.to_ascii_uppercase().replace('-', "_").as_str() {
            "DISABLED" => SslMode::Disabled,
            "PREFERRED" => SslMode::Preferred,
            "REQUIRED" => SslMode::Required,
            "VERIFY_CA" => SslMode::VerifyCa,
            "VERIFY_IDENTITY" => SslMode::VerifyIdentity,
            other => {
                return Err(format!(
                    "ssl-mode {other:?}: expected DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY"
                ))
            }
        })
    }
}

/// A parsed source URL.
#[derive(Clone)]
pub struct SourceSpec {
    opts: Opts,
    ssl_mode: SslMode,
    ssl_ca: Option<PathBuf>,
    redacted: String,
    password: Option<String>,
}

impl std::fmt::Debug for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceSpec")
            .field("url", &self.redacted)
            .finish()
    }
}

impl SourceSpec {
    pub fn parse(url: &str) -> Result<SourceSpec> {
        let mut parsed = url::Url::parse(url).map_err(|e| Error::Url(format!("{e}")))?;
        if !matches!(parsed.scheme(), "mysql" | "mariadb") {
            return Err(Error::Url(format!(
                "expected a mysql:// URL, got scheme {:?}",
                parsed.scheme()
            )));
        }
        let password = parsed
            .password()
            .map(percent_decode)
            .filter(|p| !p.is_empty());
        let mut ssl_mode = SslMode::Preferred;
        let mut ssl_ca = None;
        let mut rest: Vec<(String, String)> = Vec::new();
        for (k, v) in parsed.query_pairs() {
            match k.as_ref() {
                "ssl-mode" | "sslmode" | "ssl_mode" => ssl_mode = v.parse().map_err(Error::Url)?,
                "ssl-ca" | "sslrootcert" => ssl_ca = Some(PathBuf::from(v.as_ref())),
                _ => rest.push((k.into_owned(), v.into_owned())),
            }
        }
        let mut redacted_url = parsed.clone();
        if password.is_some() {
            let _ = redacted_url.set_password(Some("***"));
        }
        let redacted = redacted_url.to_string();
        parsed.set_scheme("mysql").ok();
        if rest.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(rest);
        }
        let scrub_text = |m: String| match &password {
            Some(p) => m.replace(p.as_str(), "***"),
            None => m,
        };
        let opts =
            Opts::from_url(parsed.as_str()).map_err(|e| Error::Url(scrub_text(e.to_string())))?;
        Ok(SourceSpec {
            opts,
            ssl_mode,
            ssl_ca,
            redacted,
            password,
        })
    }

    /// The URL with its password replaced by `***`.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// `text` with the password (if any) replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        match &self.password {
            Some(p) if !p.is_empty() => text.replace(p.as_str(), "***"),
            _ => text.to_string(),
        }
    }

    pub fn database(&self) -> Option<&str> {
        self.opts.db_name()
    }

    pub fn host(&self) -> String {
        format!("{}:{}", self.opts.ip_or_hostname(), self.opts.tcp_port())
    }

    fn opts_with(&self, tls: bool, setup: &[&str]) -> Opts {
        let mut b = OptsBuilder::from_opts(self.opts.clone())
            .setup(setup.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .prefer_socket(false);
        if tls {
            let mut ssl = SslOpts::default();
            if let Some(ca) = &self.ssl_ca {
                ssl = ssl.with_root_certs(vec![ca.clone().into()]);
            }
            ssl = match self.ssl_mode {
                SslMode::Required | SslMode::Preferred => {
                    ssl.with_danger_accept_invalid_certs(true)
                }
                SslMode::VerifyCa => ssl.with_danger_skip_domain_validation(true),
                _ => ssl,
            };
            b = b.ssl_opts(ssl);
        } else {
            b = b.ssl_opts(None::<SslOpts>);
        }
        b.into()
    }

    /// A connection with `setup` statements run on it (time zone, character set...).
    pub async fn connect(&self, setup: &[&str]) -> Result<Conn> {
        let attempt = |tls: bool| Conn::new(self.opts_with(tls, setup));
        let res = match self.ssl_mode {
            SslMode::Disabled => attempt(false).await,
            SslMode::Preferred => match attempt(true).await {
                Ok(c) => Ok(c),
                // The server offers no TLS (or the handshake failed): plain, as the client does.
                Err(mysql_async::Error::Driver(_)) | Err(mysql_async::Error::Io(_)) => {
                    attempt(false).await
                }
                Err(e) => Err(e),
            },
            _ => attempt(true).await,
        };
        res.map_err(|e| Error::Db(self.scrub(&format!("cannot connect to {}: {e}", self.redacted))))
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_redacted_and_scrubbed() {
        let s = SourceSpec::parse("mysql://app:s%40cret@db.example:3307/shop?ssl-mode=DISABLED")
            .unwrap();
        assert_eq!(
            s.redacted(),
            "mysql://app:***@db.example:3307/shop?ssl-mode=DISABLED"
        );
        assert_eq!(s.scrub("auth failed for s@cret"), "auth failed for ***");
        assert_eq!(s.database(), Some("shop"));
        assert_eq!(s.ssl_mode, SslMode::Disabled);
    }

    #[test]
    fn bad_ssl_mode_is_an_error() {
        let e = SourceSpec::parse("mysql://root@h/db?ssl-mode=sometimes").unwrap_err();
        assert!(e.to_string().contains("ssl-mode"), "{e}");
        assert!(SourceSpec::parse("postgres://h/db").is_err());
    }
}
