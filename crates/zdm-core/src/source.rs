//! Migration sources: the files of a migrations directory, applied in file-name order.
//!
//! * `<id>.yaml` / `<id>.yml` / `<id>.json`: pgroll-format operation files.
//! * `<id>.sql`: plain SQL, with an optional rollback file `<id>.down.sql`.
//!
//! A migration's id is its file name without extension; its checksum is the SHA-256 of the file's
//! bytes, so any edit after it was applied is detected.

use crate::format::{parse_operations, FileFormat};
use crate::operations::OperationsMigration;
use crate::sql::{self, Statement};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The directive that makes a SQL migration run statement by statement, each in its own
/// transaction, with progress checkpointed in the ledger (needed for `CREATE INDEX CONCURRENTLY`).
pub const NO_TRANSACTION_DIRECTIVE: &str = "zdm:no-transaction";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationKind {
    Operations,
    Sql,
}

impl MigrationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operations => "operations",
            Self::Sql => "sql",
        }
    }
}

#[derive(Debug, Clone)]
pub struct MigrationFile {
    pub id: String,
    pub path: PathBuf,
    /// Hex SHA-256 of the file's bytes.
    pub checksum: String,
    pub body: MigrationBody,
}

#[derive(Debug, Clone)]
pub enum MigrationBody {
    Operations(OperationsMigration),
    Sql(SqlMigration),
}

#[derive(Debug, Clone)]
pub struct SqlMigration {
    pub up: String,
    pub statements: Vec<Statement>,
    pub down: Option<SqlDown>,
    /// Run statement by statement instead of in one transaction: requested with
    /// `-- zdm:no-transaction`, or implied by a statement PostgreSQL refuses inside a transaction.
    pub no_transaction: bool,
}

#[derive(Debug, Clone)]
pub struct SqlDown {
    pub path: PathBuf,
    pub text: String,
    pub statements: Vec<Statement>,
}

impl MigrationFile {
    pub fn kind(&self) -> MigrationKind {
        match self.body {
            MigrationBody::Operations(_) => MigrationKind::Operations,
            MigrationBody::Sql(_) => MigrationKind::Sql,
        }
    }

    /// The parsed migration as JSON, as the ledger stores it.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.body {
            MigrationBody::Operations(ops) => {
                serde_json::to_value(ops).unwrap_or(serde_json::Value::Null)
            }
            MigrationBody::Sql(s) => serde_json::json!({
                "up": s.up,
                "down": s.down.as_ref().map(|d| &d.text),
                "no_transaction": s.no_transaction,
                "statements": s.statements.len(),
            }),
        }
    }
}

/// What is wrong with a migration source; parse errors point at file, line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceError {
    Io {
        path: PathBuf,
        message: String,
    },
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    Invalid {
        path: PathBuf,
        message: String,
    },
    DuplicateId {
        id: String,
        first: PathBuf,
        second: PathBuf,
    },
    OrphanDown {
        path: PathBuf,
    },
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, message } => write!(f, "{}: {message}", path.display()),
            Self::Parse {
                path,
                line,
                column,
                message,
            } => {
                write!(f, "{}:{line}:{column}: {message}", path.display())
            }
            Self::Invalid { path, message } => write!(f, "{}: {message}", path.display()),
            Self::DuplicateId { id, first, second } => write!(
                f,
                "{}: migration id `{id}` is already used by {}",
                second.display(),
                first.display()
            ),
            Self::OrphanDown { path } => {
                write!(
                    f,
                    "{}: rollback file without a matching .sql migration",
                    path.display()
                )
            }
        }
    }
}

/// All the problems found in a directory, so an author fixes them in one round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceErrors(pub Vec<SourceError>);

impl fmt::Display for SourceErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SourceErrors {}

pub fn checksum(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

enum Entry {
    Migration(PathBuf, Option<FileFormat>),
    Down(PathBuf),
}

fn classify(path: &Path) -> Option<(String, Entry)> {
    let name = path.file_name()?.to_str()?;
    if name.starts_with('.') {
        return None;
    }
    if let Some(id) = name.strip_suffix(".down.sql") {
        return Some((id.to_string(), Entry::Down(path.to_path_buf())));
    }
    if let Some(id) = name.strip_suffix(".sql") {
        return Some((id.to_string(), Entry::Migration(path.to_path_buf(), None)));
    }
    let format = FileFormat::from_path(path)?;
    let stem = path.file_stem()?.to_str()?;
    Some((
        stem.to_string(),
        Entry::Migration(path.to_path_buf(), Some(format)),
    ))
}

/// Load every migration of `dir`, sorted by file name. Collects all errors rather than stopping at
/// the first.
pub fn load_dir(dir: &Path) -> Result<Vec<MigrationFile>, SourceErrors> {
    load_dir_checked(dir, true)
}

/// The directory as the linter reads it: SQL files with `BEGIN`/`COMMIT` load (the linter models
/// and reports transaction control; `zdm migrate` refuses such files through [`load_dir`]).
pub fn load_dir_for_lint(dir: &Path) -> Result<Vec<MigrationFile>, SourceErrors> {
    load_dir_checked(dir, false)
}

fn load_dir_checked(
    dir: &Path,
    refuse_transaction_control: bool,
) -> Result<Vec<MigrationFile>, SourceErrors> {
    let read = std::fs::read_dir(dir).map_err(|e| {
        SourceErrors(vec![SourceError::Io {
            path: dir.to_path_buf(),
            message: format!("cannot read migrations directory: {e}"),
        }])
    })?;
    let mut paths: Vec<PathBuf> = read
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();

    let mut errors = Vec::new();
    let mut migrations: BTreeMap<String, (PathBuf, Option<FileFormat>)> = BTreeMap::new();
    let mut downs: BTreeMap<String, PathBuf> = BTreeMap::new();
    for path in paths {
        match classify(&path) {
            Some((id, Entry::Migration(p, format))) => {
                if let Some((first, _)) = migrations.get(&id) {
                    errors.push(SourceError::DuplicateId {
                        id,
                        first: first.clone(),
                        second: p,
                    });
                } else {
                    migrations.insert(id, (p, format));
                }
            }
            Some((id, Entry::Down(p))) => {
                downs.insert(id, p);
            }
            None => {}
        }
    }
    for (id, path) in &downs {
        if !matches!(migrations.get(id), Some((_, None))) {
            errors.push(SourceError::OrphanDown { path: path.clone() });
        }
    }

    let mut files = Vec::new();
    for (id, (path, format)) in migrations {
        let loaded = match format {
            Some(format) => load_operations(id, &path, format),
            None => {
                let down = downs.get(&id).cloned();
                load_sql(id, &path, down.as_ref(), refuse_transaction_control)
            }
        };
        match loaded {
            Ok(f) => files.push(f),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(SourceErrors(errors))
    }
}

/// Load one migration file given by path (its `.down.sql` sibling is picked up too).
pub fn load_file(path: &Path) -> Result<MigrationFile, SourceErrors> {
    let errs = |e: Vec<SourceError>| SourceErrors(e);
    match classify(path) {
        Some((id, Entry::Migration(p, Some(format)))) => {
            load_operations(id, &p, format).map_err(errs)
        }
        Some((id, Entry::Migration(p, None))) => {
            let down = p.with_file_name(format!("{id}.down.sql"));
            load_sql(id, &p, down.is_file().then_some(&down), true).map_err(errs)
        }
        _ => Err(SourceErrors(vec![SourceError::Invalid {
            path: path.to_path_buf(),
            message: "not a migration file (expected .yaml, .yml, .json or .sql)".into(),
        }])),
    }
}

fn read(path: &Path) -> Result<(Vec<u8>, String), Vec<SourceError>> {
    let bytes = std::fs::read(path).map_err(|e| {
        vec![SourceError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }]
    })?;
    let text = String::from_utf8(bytes.clone()).map_err(|e| {
        vec![SourceError::Invalid {
            path: path.to_path_buf(),
            message: format!("not valid UTF-8: {e}"),
        }]
    })?;
    Ok((bytes, text))
}

fn load_operations(
    id: String,
    path: &Path,
    format: FileFormat,
) -> Result<MigrationFile, Vec<SourceError>> {
    let (bytes, text) = read(path)?;
    let ops = parse_operations(&text, format).map_err(|e| {
        vec![SourceError::Parse {
            path: path.to_path_buf(),
            line: e.line,
            column: e.column,
            message: e.message,
        }]
    })?;
    ops.validate().map_err(|errs| {
        errs.into_iter()
            .map(|e| SourceError::Invalid {
                path: path.to_path_buf(),
                message: e.to_string(),
            })
            .collect::<Vec<_>>()
    })?;
    Ok(MigrationFile {
        id,
        path: path.to_path_buf(),
        checksum: checksum(&bytes),
        body: MigrationBody::Operations(ops),
    })
}

fn check_sql(path: &Path, statements: &[Statement]) -> Vec<SourceError> {
    statements
        .iter()
        .filter(|s| s.is_transaction_control())
        .map(|s| SourceError::Parse {
            path: path.to_path_buf(),
            line: s.line,
            column: s.column,
            message: format!(
                "`{}` controls the transaction itself; remove it: zdm runs each migration in one \
                 transaction, or statement by statement with `-- {NO_TRANSACTION_DIRECTIVE}`",
                s.keywords(1).join(" ")
            ),
        })
        .collect()
}

fn load_sql(
    id: String,
    path: &Path,
    down_path: Option<&PathBuf>,
    refuse_transaction_control: bool,
) -> Result<MigrationFile, Vec<SourceError>> {
    let (bytes, up) = read(path)?;
    let statements = sql::split_statements(&up);
    let check = |p: &Path, st: &[Statement]| {
        if refuse_transaction_control {
            check_sql(p, st)
        } else {
            vec![]
        }
    };
    let mut errors = check(path, &statements);
    let down = match down_path {
        Some(p) => match read(p) {
            Ok((_, text)) => {
                let statements = sql::split_statements(&text);
                errors.extend(check(p, &statements));
                Some(SqlDown {
                    path: p.clone(),
                    text,
                    statements,
                })
            }
            Err(mut e) => {
                errors.append(&mut e);
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let no_transaction = has_directive(&up, NO_TRANSACTION_DIRECTIVE)
        || statements
            .iter()
            .any(Statement::must_run_outside_transaction);
    Ok(MigrationFile {
        id,
        path: path.to_path_buf(),
        checksum: checksum(&bytes),
        body: MigrationBody::Sql(SqlMigration {
            up,
            statements,
            down,
            no_transaction,
        }),
    })
}

/// A `-- <directive>` comment on a line of its own.
fn has_directive(text: &str, directive: &str) -> bool {
    text.lines()
        .any(|l| l.trim().strip_prefix("--").map(str::trim) == Some(directive))
}

/// Create `<UTC timestamp>_<name>.yaml` (or `.sql`) in `dir` with a starter body.
pub fn new_migration_file(
    dir: &Path,
    name: &str,
    sql: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<PathBuf, String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "migration name `{name}` must be letters, digits, `_` or `-`"
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let id = format!("{}_{name}", now.format("%Y%m%d%H%M%S"));
    let (path, body) = if sql {
        (dir.join(format!("{id}.sql")), "-- Write the migration's SQL here. It runs in one transaction;\n-- add `-- zdm:no-transaction` to run statement by statement (CREATE INDEX CONCURRENTLY).\n")
    } else {
        (
            dir.join(format!("{id}.yaml")),
            "# pgroll-format operations: create_table, add_column, alter_column, rename_column, ...\noperations:\n  - sql:\n      up: SELECT 1\n",
        )
    };
    if path.exists() {
        return Err(format!("{} already exists", path.display()));
    }
    std::fs::write(&path, body).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> tempdir::Dir {
        let d = tempdir::Dir::new();
        for (name, body) in files {
            std::fs::write(d.path().join(name), body).unwrap();
        }
        d
    }

    /// A tiny self-cleaning temp dir, to keep zdm-core free of dev-dependencies.
    mod tempdir {
        pub struct Dir(std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                let p = std::env::temp_dir().join(format!(
                    "zdm-core-{}-{}",
                    std::process::id(),
                    rand_suffix()
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
            pub fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        fn rand_suffix() -> u128 {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            t + N.fetch_add(1, Ordering::Relaxed) as u128
        }
    }

    #[test]
    fn loads_sql_with_down_in_name_order() {
        let d = dir_with(&[
            ("002_b.sql", "CREATE TABLE b (id int);"),
            (
                "001_a.sql",
                "CREATE TABLE a (id int);\nCREATE INDEX CONCURRENTLY ai ON a (id);",
            ),
            ("001_a.down.sql", "DROP TABLE a;"),
            ("README.md", "ignored"),
        ]);
        let files = load_dir(d.path()).unwrap();
        assert_eq!(
            files.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
            ["001_a", "002_b"]
        );
        let MigrationBody::Sql(a) = &files[0].body else {
            panic!()
        };
        assert!(
            a.no_transaction,
            "CONCURRENTLY implies statement-by-statement"
        );
        assert_eq!(a.down.as_ref().unwrap().statements.len(), 1);
        assert_eq!(
            files[0].checksum,
            checksum(b"CREATE TABLE a (id int);\nCREATE INDEX CONCURRENTLY ai ON a (id);")
        );
    }

    #[test]
    fn reports_duplicates_orphans_and_transaction_control() {
        let d = dir_with(&[
            ("001_a.sql", "SELECT 1;\n  COMMIT;"),
            ("001_a.yaml", "operations: []"),
            ("003_c.down.sql", "SELECT 1"),
        ]);
        let errs = load_dir(d.path()).unwrap_err().to_string();
        assert!(
            errs.contains("migration id `001_a` is already used"),
            "{errs}"
        );
        assert!(
            errs.contains("003_c.down.sql: rollback file without a matching .sql migration"),
            "{errs}"
        );
        assert!(
            errs.contains("001_a.sql:2:3: `COMMIT` controls the transaction itself"),
            "{errs}"
        );
    }

    #[test]
    fn no_transaction_directive() {
        let d = dir_with(&[("001_a.sql", "-- zdm:no-transaction\nSELECT 1;")]);
        let files = load_dir(d.path()).unwrap();
        let MigrationBody::Sql(a) = &files[0].body else {
            panic!()
        };
        assert!(a.no_transaction);
    }

    #[test]
    fn new_file_names_are_timestamped() {
        let d = dir_with(&[]);
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let p = new_migration_file(d.path(), "add_users", true, now).unwrap();
        assert_eq!(p.file_name().unwrap(), "20260102030405_add_users.sql");
        assert!(new_migration_file(d.path(), "bad name", false, now).is_err());
        let y = new_migration_file(d.path(), "ops", false, now).unwrap();
        assert!(
            load_file(&y).is_ok(),
            "the YAML template must itself be a valid migration"
        );
    }
}
