//! Shared test helpers: lint a snippet with an environment string as used by the rule
//! examples (`no-transaction`, `pg=14.2`, `mysql=5.7.44`, `mariadb=10.4`, `enable=<id>`).
//! A snippet may hold an earlier migration before a line `---`: it is replayed first.
#![allow(dead_code)]

use zdm_lint::{
    lint_file, new_schema, replay_file, Dialect, Engine, Finding, MysqlVersion, Options,
};

pub fn options(engine: Engine, env: &str) -> Options {
    let mut o = match engine {
        Engine::Mysql => Options::mysql(MysqlVersion::mysql(8, 0, 35)),
        _ => Options::postgres(15),
    };
    for word in env.split_whitespace() {
        match word.split_once('=') {
            Some(("pg", v)) => {
                let mut p = v.split('.');
                o.pg_version = p.next().and_then(|x| x.parse().ok()).unwrap_or(15);
                o.pg_minor = p.next().and_then(|x| x.parse().ok());
            }
            Some(("mysql", v)) | Some(("mariadb", v)) => {
                let prefix = if word.starts_with("mariadb") {
                    "mariadb-"
                } else {
                    "mysql-"
                };
                o.mysql_version = MysqlVersion::parse(&format!("{prefix}{v}")).expect("version");
            }
            Some(("enable", id)) => o.enable.push(id.to_string()),
            Some(("disable", id)) => o.disable.push(id.to_string()),
            _ if word == "no-transaction" => o.in_transaction = false,
            _ if word == "in-transaction" => o.in_transaction = true,
            _ => panic!("unknown example env word {word:?}"),
        }
    }
    o
}

pub fn lint(engine: Engine, text: &str, env: &str) -> Vec<Finding> {
    let opts = options(engine, env);
    let mut schema = new_schema(&opts);
    let current = match text.split_once("\n---\n") {
        Some((before, after)) => {
            replay_file("earlier.sql", before, &opts, &mut schema);
            after
        }
        None => text,
    };
    lint_file("example.sql", current, &opts, &mut schema).expect("lint")
}

pub fn rules_of(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.rule).collect()
}

pub fn is_pg(d: Dialect) -> bool {
    d == Dialect::Postgres
}
