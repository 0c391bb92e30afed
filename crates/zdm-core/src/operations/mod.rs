//! PLACEHOLDER until the operations model lands (being written concurrently).
use serde::{Deserialize, Serialize};
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationsMigration {
    pub operations: Vec<serde_json::Value>,
    #[serde(default)]
    pub version_schema: Option<String>,
}
#[derive(Debug)]
pub struct ValidationError(pub String);
impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl OperationsMigration {
    pub fn validate(&self) -> Result<(), Vec<ValidationError>> {
        Ok(())
    }
}
