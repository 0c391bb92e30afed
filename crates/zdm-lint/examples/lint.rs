//! Lints SQL files with default options and prints the human report:
//! `cargo run -p zdm-lint --example lint -- [--mysql] FILE…` (files are replayed in order).

use std::collections::HashMap;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mysql = args.first().is_some_and(|a| a == "--mysql");
    if mysql {
        args.remove(0);
    }
    let opts = if mysql {
        zdm_lint::Options::mysql(zdm_lint::MysqlVersion::mysql(8, 0, 35))
    } else {
        zdm_lint::Options::postgres(15)
    };
    let mut schema = zdm_lint::new_schema(&opts);
    let mut sources = HashMap::new();
    let mut findings = Vec::new();
    for path in args {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{path}: {e}");
                return ExitCode::FAILURE;
            }
        };
        match zdm_lint::lint_file(&path, &text, &opts, &mut schema) {
            Ok(f) => findings.extend(f),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
        sources.insert(path, text);
    }
    print!("{}", zdm_lint::output::human(&findings, &sources));
    if findings
        .iter()
        .any(|f| f.severity == zdm_lint::Severity::Error)
    {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
