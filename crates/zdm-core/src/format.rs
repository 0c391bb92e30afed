//! PLACEHOLDER until the operations model lands (being written concurrently).
use crate::operations::OperationsMigration;
use std::path::Path;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Yaml,
    Json,
}
impl FileFormat {
    pub fn from_path(p: &Path) -> Option<FileFormat> {
        match p.extension()?.to_str()? {
            "yaml" | "yml" => Some(Self::Yaml),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}
#[derive(Debug)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}
pub fn parse_operations(text: &str, format: FileFormat) -> Result<OperationsMigration, ParseError> {
    match format {
        FileFormat::Json => serde_json::from_str(text).map_err(|e| ParseError {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }),
        FileFormat::Yaml => serde_saphyr::from_str(text).map_err(|e| ParseError {
            line: 1,
            column: 1,
            message: e.to_string(),
        }),
    }
}
