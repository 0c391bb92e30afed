use crate::finding::{Finding, Severity};
use crate::rules::{Engine, RuleInfo};
use serde::Serialize;
use serde_json::{json, Value};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// SARIF 2.1.0: one run, the rules of `engine` (plus the linter's own) as
/// `tool.driver.rules`, each finding a result with a region (1-based lines and columns,
/// plus the byte range).
pub fn render(findings: &[Finding], engine: Engine, help_base_uri: &str) -> String {
    let rules: Vec<&RuleInfo> = crate::rules()
        .iter()
        .filter(|r| r.engine == engine || r.engine == Engine::Any)
        .collect();
    let rule_objs: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.why},
                "helpUri": format!("{help_base_uri}{}.md", r.id),
                "defaultConfiguration": {"level": level(r.severity), "enabled": r.default_enabled},
            })
        })
        .collect();
    // Results are serialised from borrowed structs (no `Value` per finding): reports with tens
    // of thousands of results stay one pass and small in memory.
    #[derive(Serialize)]
    struct Text {
        text: String,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Region {
        start_line: usize,
        start_column: usize,
        byte_offset: usize,
        byte_length: usize,
    }
    #[derive(Serialize)]
    struct Artifact {
        uri: String,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Physical {
        artifact_location: Artifact,
        region: Region,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Location {
        physical_location: Physical,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct SarifResult<'a> {
        rule_id: &'a str,
        level: &'static str,
        message: Text,
        locations: [Location; 1],
        #[serde(skip_serializing_if = "Option::is_none")]
        rule_index: Option<usize>,
    }
    let results: Vec<SarifResult> = findings
        .iter()
        .map(|f| {
            let locks = f
                .locks
                .as_ref()
                .map(|l| format!(" (locks: {l})"))
                .unwrap_or_default();
            SarifResult {
                rule_id: f.rule,
                level: level(f.severity),
                message: Text {
                    text: format!("{}{locks}\n{}", f.message, f.help),
                },
                locations: [Location {
                    physical_location: Physical {
                        artifact_location: Artifact {
                            uri: f.file.replace('\\', "/"),
                        },
                        region: Region {
                            start_line: f.line,
                            start_column: f.column,
                            byte_offset: f.span.start,
                            byte_length: f.span.end.saturating_sub(f.span.start),
                        },
                    },
                }],
                rule_index: rules.iter().position(|r| r.id == f.rule),
            }
        })
        .collect();
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Run<'a> {
        tool: Value,
        column_kind: &'static str,
        results: Vec<SarifResult<'a>>,
    }
    #[derive(Serialize)]
    struct Doc<'a> {
        #[serde(rename = "$schema")]
        schema: &'static str,
        version: &'static str,
        runs: [Run<'a>; 1],
    }
    let doc = Doc {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [Run {
            tool: json!({"driver": {
                "name": "zdm lint",
                "informationUri": "https://github.com/zdm-dev/zdm",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rule_objs,
            }}),
            column_kind: "unicodeCodePoints",
            results,
        }],
    };
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
