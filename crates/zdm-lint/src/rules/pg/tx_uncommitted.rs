use crate::finding::Severity;
use crate::pg::model::Stmt;
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "tx-uncommitted",
    engine: Engine::Postgres,
    severity: Severity::Error,
    default_enabled: true,
    summary: "BEGIN with no COMMIT before the end of the file",
    why: "The transaction stays open (holding every lock it took) until the session ends or the tool commits for you, depending on the tool: the outcome is unclear and the locks are held too long.",
    versions: "",
    bad: "-- zdm:no-transaction\nBEGIN;\nALTER TABLE orders ADD COLUMN note text;",
    good: "-- zdm:no-transaction\nBEGIN;\nALTER TABLE orders ADD COLUMN note text;\nCOMMIT;",
    example_env: "no-transaction",
};

pub(crate) fn check(_cx: &mut Cx, _st: &Stmt) {}

pub(crate) fn finish(cx: &mut Cx) {
    if !cx.tx.explicit {
        return;
    }
    let at = cx.tx.begin_at.clone().unwrap_or(0..0);
    cx.out.report(
        &RULE,
        at,
        "BEGIN is never committed in this file: its locks stay held and the outcome depends on the tool".into(),
        "Add COMMIT; at the end, or remove BEGIN and let zdm manage the transaction.".into(),
        None,
    );
}
