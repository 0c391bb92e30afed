//! `set_replica_identity`: sets a table's REPLICA IDENTITY (what logical replication logs for
//! updated and deleted rows); catalog-only.

use super::check::{given, Problems};
use serde::{Deserialize, Serialize};

/// Compared case-insensitively, as pgroll does.
pub const REPLICA_IDENTITY_TYPES: &[&str] = &["nothing", "default", "index", "full"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetReplicaIdentity {
    pub table: String,
    pub identity: ReplicaIdentity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaIdentity {
    /// One of [`REPLICA_IDENTITY_TYPES`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The unique index to use, for type `index`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
}

impl SetReplicaIdentity {
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut p = Problems::default();
        p.ident("table", &self.table);
        p.keyword("identity.type", &self.identity.kind, REPLICA_IDENTITY_TYPES);
        if self.identity.kind.trim().eq_ignore_ascii_case("index") {
            match given(&self.identity.index) {
                Some(i) => p.ident("identity.index", i),
                None => p.add("`identity.index` is required for type `index`"),
            }
        }
        p.finish()
    }
}
