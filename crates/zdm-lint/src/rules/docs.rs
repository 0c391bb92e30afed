//! Markdown documentation for rules (`docs/lint/<id>.md`, `zdm lint --explain <id>`),
//! rendered from the same metadata the tests check.

use super::{rules, Engine, RuleInfo};
use std::fmt::Write;

fn engine_name(e: Engine) -> &'static str {
    match e {
        Engine::Postgres => "PostgreSQL",
        Engine::Mysql => "MySQL / MariaDB",
        Engine::Any => "any engine",
    }
}

fn env_note(env: &str) -> String {
    let mut notes = Vec::new();
    for part in env.split('|') {
        for w in part.split_whitespace() {
            let n = match w.split_once('=') {
                Some(("pg", v)) => format!("PostgreSQL {v}"),
                Some(("mysql", v)) => format!("MySQL {v}"),
                Some(("mariadb", v)) => format!("MariaDB {v}"),
                Some(("enable", id)) => format!("with `{id}` enabled"),
                _ if w == "no-transaction" => {
                    "file run without a transaction (`-- zdm:no-transaction`)".to_string()
                }
                _ => w.to_string(),
            };
            if !notes.contains(&n) {
                notes.push(n);
            }
        }
    }
    notes.join(", ")
}

fn example(out: &mut String, title: &str, sql: &str, env: &str) {
    if sql.is_empty() {
        return;
    }
    let _ = writeln!(out, "### {title}\n");
    let env = env_note(env);
    if !env.is_empty() {
        let _ = writeln!(out, "({env})\n");
    }
    let lang = if sql.starts_with("operations:") {
        "yaml"
    } else {
        "sql"
    };
    if lang == "yaml" {
        let _ = writeln!(out, "```yaml\n{sql}\n```\n");
        return;
    }
    match sql.split_once("\n---\n") {
        Some((before, after)) => {
            let _ = writeln!(out, "Earlier migration:\n\n```sql\n{before}\n```\n\nThis migration:\n\n```sql\n{after}\n```\n");
        }
        None => {
            let _ = writeln!(out, "```sql\n{sql}\n```\n");
        }
    }
}

fn section(out: &mut String, r: &RuleInfo, heading: bool) {
    if heading {
        let _ = writeln!(out, "## {}\n", engine_name(r.engine));
    }
    let _ = writeln!(
        out,
        "**Engine:** {} · **Severity:** {} · **Default:** {}\n",
        engine_name(r.engine),
        r.severity,
        if r.default_enabled {
            "on"
        } else {
            "off (enable it explicitly)"
        }
    );
    let _ = writeln!(out, "{}\n", capitalise(r.summary));
    let _ = writeln!(out, "**Why it is dangerous:** {}\n", r.why);
    if !r.versions.is_empty() {
        let _ = writeln!(out, "**Versions:** {}\n", r.versions);
    }
    let (bad_env, good_env) = r
        .example_env
        .split_once('|')
        .unwrap_or((r.example_env, r.example_env));
    example(out, "Flagged", r.bad, bad_env);
    example(out, "Safe alternative", r.good, good_env);
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The Markdown page for rule `id` (all engines it exists for), or None for an unknown id.
pub fn rule_doc(id: &str) -> Option<String> {
    let infos: Vec<&RuleInfo> = rules().iter().filter(|r| r.id == id).collect();
    let first = infos.first()?;
    let mut out = format!("# {}\n\n", first.id);
    for r in &infos {
        section(&mut out, r, infos.len() > 1);
    }
    let _ = writeln!(
        out,
        "## Ignoring it\n\nOn the line(s) directly before the statement, or at the end of its first line, with a reason:\n\n```sql\n-- zdm-lint: ignore {id} -- <why it is safe here>\n```\n\nFor a whole file: `-- zdm-lint: ignore-file {id} -- <reason>` (MySQL files may use `#`). An ignore without a reason is itself an error (`lint-ignore-without-reason`); one that silences nothing is reported (`lint-unused-ignore`)."
    );
    Some(out)
}

/// The index page: every rule with its severity per engine.
pub fn rules_index() -> String {
    let mut out = String::from("# zdm lint rules\n\nGenerated from the rule metadata (`cargo test -p zdm-lint --test docs` checks it; set `ZDM_UPDATE_DOCS=1` to rewrite).\n\n| rule | PostgreSQL | MySQL / MariaDB | what it flags |\n|---|---|---|---|\n");
    let mut seen = Vec::new();
    for r in rules() {
        if seen.contains(&r.id) {
            continue;
        }
        seen.push(r.id);
        let sev = |e: Engine| {
            rules()
                .iter()
                .find(|x| x.id == r.id && (x.engine == e || x.engine == Engine::Any))
                .map(|x| {
                    format!(
                        "{}{}",
                        x.severity,
                        if x.default_enabled { "" } else { " (off)" }
                    )
                })
                .unwrap_or_else(|| "–".into())
        };
        let _ = writeln!(
            out,
            "| [{}]({}.md) | {} | {} | {} |",
            r.id,
            r.id,
            sev(Engine::Postgres),
            sev(Engine::Mysql),
            r.summary.replace('|', "\\|")
        );
    }
    out
}
