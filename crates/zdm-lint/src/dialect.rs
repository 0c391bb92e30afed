//! Which engine and server version the migrations target, and how zdm runs them.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Postgres,
    Mysql,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum MysqlFlavor {
    MySql,
    MariaDb,
}

/// A MySQL or MariaDB server version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MysqlVersion {
    pub flavor: MysqlFlavor,
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl MysqlVersion {
    pub const fn mysql(major: u32, minor: u32, patch: u32) -> Self {
        MysqlVersion {
            flavor: MysqlFlavor::MySql,
            major,
            minor,
            patch,
        }
    }

    pub const fn mariadb(major: u32, minor: u32, patch: u32) -> Self {
        MysqlVersion {
            flavor: MysqlFlavor::MariaDb,
            major,
            minor,
            patch,
        }
    }

    pub fn is_mariadb(&self) -> bool {
        self.flavor == MysqlFlavor::MariaDb
    }

    /// Whether this is `flavor` at `major.minor.patch` or later (false for the other flavor).
    pub fn at_least(&self, flavor: MysqlFlavor, major: u32, minor: u32, patch: u32) -> bool {
        self.flavor == flavor && (self.major, self.minor, self.patch) >= (major, minor, patch)
    }

    /// Parses `8.0.35`, `mysql-8.0.35`, `mariadb-10.11.6` or `10.11.6-MariaDB` (a MariaDB
    /// version string or a major ≥ 10 means MariaDB: MySQL went from 5.7 to 8.0).
    pub fn parse(s: &str) -> Option<Self> {
        let lower = s.trim().to_ascii_lowercase();
        let mariadb_named = lower.contains("mariadb");
        let digits: String = lower
            .trim_start_matches("mysql")
            .trim_start_matches("mariadb")
            .trim_start_matches(['-', ':', ' '])
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let mut parts = digits.split('.').filter(|p| !p.is_empty());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let flavor = if mariadb_named || major >= 10 {
            MysqlFlavor::MariaDb
        } else {
            MysqlFlavor::MySql
        };
        Some(MysqlVersion {
            flavor,
            major,
            minor,
            patch,
        })
    }
}

impl std::fmt::Display for MysqlVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = if self.is_mariadb() {
            "MariaDB"
        } else {
            "MySQL"
        };
        write!(f, "{name} {}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// How to lint: the engine, its version, how the file is run and which rules are on.
#[derive(Debug, Clone)]
pub struct Options {
    pub dialect: Dialect,
    /// PostgreSQL major version (11, 12, … 18).
    pub pg_version: u32,
    /// PostgreSQL minor version when known (only pg-index-corruption-14 needs it).
    pub pg_minor: Option<u32>,
    pub mysql_version: MysqlVersion,
    /// Whether the file runs inside one transaction. zdm runs a `.sql` file in one transaction
    /// unless it carries `-- zdm:no-transaction`; `lint_migrations` sets this per file.
    pub in_transaction: bool,
    /// Rule ids (or `all`) to turn on in addition to the default ones.
    pub enable: Vec<String>,
    /// Rule ids to turn off.
    pub disable: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dialect: Dialect::Postgres,
            pg_version: 15,
            pg_minor: None,
            mysql_version: MysqlVersion::mysql(8, 0, 35),
            in_transaction: true,
            enable: Vec::new(),
            disable: Vec::new(),
        }
    }
}

impl Options {
    pub fn postgres(pg_version: u32) -> Self {
        Options {
            dialect: Dialect::Postgres,
            pg_version,
            ..Options::default()
        }
    }

    pub fn mysql(version: MysqlVersion) -> Self {
        // MySQL DDL commits implicitly, so a file never runs as one transaction.
        Options {
            dialect: Dialect::Mysql,
            mysql_version: version,
            in_transaction: false,
            ..Options::default()
        }
    }

    /// Whether `rule` (with its default state `on_by_default`) is on.
    pub fn rule_enabled(&self, rule: &str, on_by_default: bool) -> bool {
        if self.disable.iter().any(|d| d == rule || d == "all") {
            return false;
        }
        on_by_default || self.enable.iter().any(|e| e == rule || e == "all")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(
            MysqlVersion::parse("8.0.29"),
            Some(MysqlVersion::mysql(8, 0, 29))
        );
        assert_eq!(
            MysqlVersion::parse("10.11.6-MariaDB"),
            Some(MysqlVersion::mariadb(10, 11, 6))
        );
        assert_eq!(
            MysqlVersion::parse("mariadb-11.4"),
            Some(MysqlVersion::mariadb(11, 4, 0))
        );
        assert_eq!(MysqlVersion::parse("x"), None);
    }
}
