use crate::finding::Severity;
use crate::mysql::model::{Kind, SpecKind, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "my-algorithm-copy",
    engine: Engine::Mysql,
    severity: Severity::Error,
    default_enabled: true,
    summary: "ALTER TABLE with ALGORITHM=COPY, or DROP PRIMARY KEY without adding one (COPY only)",
    why: "ALGORITHM=COPY builds a new copy of the table row by row while concurrent writes are blocked (reads allowed), for the whole copy; on a large table that is minutes to hours of write downtime, plus replica lag afterwards.",
    versions: "MariaDB 11.2+ can copy with LOCK=NONE (MDEV-16329, unverified).",
    bad: "ALTER TABLE orders ADD COLUMN note TEXT, ALGORITHM=COPY;",
    good: "SET SESSION lock_wait_timeout = 5;\nALTER TABLE orders ADD COLUMN note TEXT, ALGORITHM=INSTANT;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let Kind::AlterTable {
        table,
        specs,
        algorithm,
        ..
    } = &st.kind
    else {
        return;
    };
    if !cx.existing(table) {
        return;
    }
    let copy_pinned = algorithm.as_deref() == Some("COPY")
        || (algorithm.is_none() && cx.alter_algorithm.as_deref() == Some("COPY"));
    let drops_pk = specs
        .iter()
        .any(|s| matches!(s.kind, SpecKind::DropPrimaryKey));
    let adds_pk = specs.iter().any(|s| {
        matches!(
            s.kind,
            SpecKind::AddIndex {
                kind: crate::mysql::model::IndexKind::Primary,
                ..
            }
        )
    });
    let reason = if copy_pinned {
        "ALGORITHM=COPY copies the whole table"
    } else if drops_pk && !adds_pk {
        "dropping the primary key without adding another one is only possible with ALGORITHM=COPY"
    } else {
        return;
    };
    let clause = super::pin_clause(cx, table, specs);
    cx.out.report(
        &RULE,
        st.range.clone(),
        format!("{reason}: writes to {table} are blocked for the whole copy"),
        format!("Use an INSTANT/INPLACE-capable form and pin it so MySQL refuses instead of copying ({clause}); for changes that need a copy on a big table use gh-ost or pt-online-schema-change.{}", if drops_pk { " To replace a primary key, drop and add it in the same ALTER (INPLACE)." } else { "" }),
        Some(format!("SHARED on {table} (copy): blocks writes, reads continue")),
    );
}
