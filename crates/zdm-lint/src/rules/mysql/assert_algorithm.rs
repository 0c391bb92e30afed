use crate::finding::Severity;
use crate::mysql::model::{Kind, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "my-assert-algorithm",
    engine: Engine::Mysql,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "ALTER TABLE / CREATE INDEX without a pinned ALGORITHM (or ALGORITHM=INSTANT with a LOCK clause)",
    why: "Without ALGORITHM=INSTANT (or INPLACE, LOCK=NONE) the server silently picks the best algorithm it can, which may be a blocking table copy. Pinning it makes the server fail fast instead. ALGORITHM=INSTANT with any LOCK clause is an error (1221).",
    versions: "MariaDB: ALTER ONLINE TABLE means LOCK=NONE; `SET alter_algorithm` sets a session default.",
    bad: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders ADD COLUMN note TEXT;",
    good: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders ADD COLUMN note TEXT, ALGORITHM=INSTANT;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    match &st.kind {
        Kind::AlterTable {
            table,
            specs,
            algorithm,
            lock,
            online,
        } => {
            if !cx.existing(table) {
                return;
            }
            if algorithm.as_deref() == Some("INSTANT") {
                if let Some((_, r)) = lock {
                    cx.out.report(&RULE, r.clone(), "ALGORITHM=INSTANT cannot be combined with a LOCK clause: the statement fails with error 1221".into(), "Remove the LOCK clause (INSTANT takes only a brief metadata lock).".into(), None);
                }
                return;
            }
            let lock_none = *online || lock.as_ref().is_some_and(|(l, _)| l == "NONE");
            if algorithm.as_deref() == Some("INPLACE") && lock_none {
                return;
            }
            if algorithm.is_none()
                && cx
                    .alter_algorithm
                    .as_deref()
                    .is_some_and(|a| a == "INSTANT" || a == "INPLACE")
            {
                return;
            }
            if algorithm.as_deref() == Some("COPY") {
                return; // my-algorithm-copy reports it
            }
            let clause = super::pin_clause(cx, table, specs);
            cx.out.report(
                &RULE,
                st.range.clone(),
                format!("ALTER TABLE {table} does not pin ALGORITHM: if the change cannot be done online, the server silently falls back to a blocking copy"),
                format!("Pin the algorithm so the server errors out instead of copying:\n  {}", super::with_clause(cx, st, clause)),
                None,
            );
        }
        Kind::CreateIndex {
            table,
            algorithm,
            lock,
            ..
        } => {
            if !cx.existing(table) || algorithm.is_some() || lock.is_some() {
                return;
            }
            cx.out.report(
                &RULE,
                st.range.clone(),
                format!("CREATE INDEX on {table} does not pin ALGORITHM/LOCK: a server that cannot build it online silently blocks writes"),
                format!("Pin it:\n  {} ALGORITHM=INPLACE LOCK=NONE;", cx.out.slice(&st.range).trim().trim_end_matches(';')),
                None,
            );
        }
        _ => {}
    }
}
