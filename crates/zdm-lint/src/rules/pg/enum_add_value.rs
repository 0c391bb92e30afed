use crate::finding::Severity;
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-enum-add-value",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "ALTER TYPE … ADD VALUE without BEFORE/AFTER, or inside a transaction before PG12",
    why: "Without a position the value goes last, which changes the enum's sort order semantics silently for ORDER BY and comparisons. Before PostgreSQL 12 ADD VALUE fails inside a transaction block; from 12 it works but the new value cannot be used until the transaction commits.",
    versions: "PG<12: not allowed in a transaction. PG12+: the value is unusable until COMMIT.",
    bad: "ALTER TYPE order_status ADD VALUE 'refunded';",
    good: "ALTER TYPE order_status ADD VALUE 'refunded' AFTER 'paid';",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Kind::EnumAddValue {
        type_name,
        positioned,
    } = &st.kind
    else {
        return;
    };
    if !positioned {
        cx.out.report(
            &RULE,
            st.range.clone(),
            format!("ADD VALUE to {type_name} without BEFORE/AFTER appends it last, which decides how it sorts and compares"),
            format!("State the position explicitly:\n  {} AFTER '<existing value>';", cx.out.slice(&st.range).trim().trim_end_matches(';')),
            None,
        );
    }
    if cx.tx.active() && cx.out.opts.pg_version < 12 {
        cx.out.report(
            &RULE,
            st.range.clone(),
            format!("ALTER TYPE {type_name} ADD VALUE cannot run inside a transaction block before PostgreSQL 12"),
            "Put it in its own migration with `-- zdm:no-transaction`.".into(),
            None,
        );
    }
}
