use crate::finding::{Finding, Severity};
use crate::rules::{Engine, RuleInfo};
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
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut msg = f.message.clone();
            if let Some(l) = &f.locks {
                msg.push_str(&format!(" (locks: {l})"));
            }
            let mut res = json!({
                "ruleId": f.rule,
                "level": level(f.severity),
                "message": {"text": format!("{msg}\n{}", f.help)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.file.replace('\\', "/")},
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "byteOffset": f.span.start,
                            "byteLength": f.span.end.saturating_sub(f.span.start),
                        }
                    }
                }],
            });
            if let Some(i) = rules.iter().position(|r| r.id == f.rule) {
                res["ruleIndex"] = json!(i);
            }
            res
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "zdm lint",
                "informationUri": "https://github.com/zdm-dev/zdm",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rule_objs,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
