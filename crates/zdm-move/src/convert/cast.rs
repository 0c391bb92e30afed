//! The user's cast file: type and column overrides tried before the default rules.
//!
//! ```yaml
//! types:
//!   time: interval            # every TIME column (DATA_TYPE)
//!   "tinyint(1)": smallint    # a COLUMN_TYPE
//!   int unsigned: integer     # DATA_TYPE + unsigned
//! columns:
//!   orders.legacy_code: text  # one column (source table.column)
//! ```

use super::kind::{kind_of_pg_type, ValueKind};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use zdm_mysql::catalog::Column;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CastFile {
    #[serde(default)]
    pub types: BTreeMap<String, String>,
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CastError {
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: cast `{key}` → `{to}`: zdm cannot write PostgreSQL type `{to}` (supported: boolean, smallint, integer, bigint, numeric, real, double precision, text, varchar, bytea, date, timestamp, timestamptz, time, interval, jsonb, text[], bit varying, uuid)")]
    UnknownType {
        file: String,
        key: String,
        to: String,
    },
}

impl CastFile {
    pub fn load(path: &Path) -> Result<CastFile, CastError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CastError::Parse {
            file: file.clone(),
            message: e.to_string(),
        })?;
        let cast: CastFile = serde_saphyr::from_str(&text).map_err(|e| CastError::Parse {
            file: file.clone(),
            message: e.to_string(),
        })?;
        for (key, to) in cast.types.iter().chain(cast.columns.iter()) {
            if kind_of_pg_type(to).is_none() {
                return Err(CastError::UnknownType {
                    file: file.clone(),
                    key: key.clone(),
                    to: to.clone(),
                });
            }
        }
        Ok(cast)
    }

    /// The override for `table.column`, if any: (which key matched, PostgreSQL type, kind).
    pub fn lookup(&self, table: &str, col: &Column) -> Option<(String, String, ValueKind)> {
        let by_column = self.columns.get(&format!("{table}.{}", col.name));
        if let Some(to) = by_column {
            return Some((
                format!("column {table}.{}", col.name),
                to.clone(),
                kind_of_pg_type(to)?,
            ));
        }
        self.types
            .iter()
            .find(|(key, _)| type_key_matches(key, col))
            .and_then(|(key, to)| Some((format!("type {key}"), to.clone(), kind_of_pg_type(to)?)))
    }
}

fn type_key_matches(key: &str, col: &Column) -> bool {
    let key = key.trim().to_ascii_lowercase();
    let data_type = if col.is_json {
        "json"
    } else {
        col.data_type.as_str()
    };
    if key == col.column_type {
        return true;
    }
    if let Some(base) = key.strip_suffix("unsigned") {
        return col.unsigned && base.trim() == data_type;
    }
    key == data_type
}
