use crate::finding::Severity;
use crate::pg::model::{ActionKind, Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::pg_ident;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-validate-same-tx",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "VALIDATE CONSTRAINT in the same transaction as its NOT VALID add, or after a write-blocking lock",
    why: "VALIDATE is cheap only because it runs under SHARE UPDATE EXCLUSIVE. In the transaction that added the constraint (ACCESS EXCLUSIVE / SHARE ROW EXCLUSIVE still held) the full scan runs under that strong lock, which is what NOT VALID was meant to avoid.",
    versions: "",
    bad: "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;",
    good: "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Kind::AlterTable { table, actions } = &st.kind else {
        return;
    };
    if !cx.tx.active() {
        return;
    }
    for a in actions {
        let ActionKind::ValidateConstraint { name } = &a.kind else {
            continue;
        };
        let same = cx
            .tx
            .not_valid
            .iter()
            .any(|(t, n)| t.name == table.name && n == name);
        let held = cx
            .tx
            .strong
            .as_ref()
            .filter(|(_, m)| m.blocks_writes())
            .cloned();
        if !same && held.is_none() {
            continue;
        }
        let why = if same {
            format!("constraint {name} was added NOT VALID in this same transaction, whose lock on {table} is still held")
        } else {
            let (t, m) = held
                .unwrap_or_else(|| (table.clone(), crate::pg::locks::LockMode::AccessExclusive));
            format!("this transaction already holds {} on {t}", m.name())
        };
        cx.out.report(
            &RULE,
            a.range.clone(),
            format!("VALIDATE CONSTRAINT scans the whole table, and {why}: the scan runs under that lock"),
            format!(
                "Validate in a separate migration (its own transaction):\n  ALTER TABLE {} VALIDATE CONSTRAINT {};",
                table.pg(),
                pg_ident(name)
            ),
            None,
        );
    }
}
