use crate::finding::Severity;
use crate::pg::model::{Kind, Stmt};
use crate::pg::Cx;
use crate::rules::{Engine, RuleInfo};

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "pg-domain-constraint",
    engine: Engine::Postgres,
    severity: Severity::Warning,
    default_enabled: true,
    summary: "CREATE DOMAIN … CHECK or ALTER DOMAIN … ADD CONSTRAINT",
    why: "ALTER DOMAIN ADD CONSTRAINT checks every column of every table using the domain while locking them; and domain constraints can only be changed this way later, so each change is a multi-table scan.",
    versions: "",
    bad: "CREATE DOMAIN positive_amount AS numeric CHECK (VALUE > 0);",
    good: "CREATE DOMAIN positive_amount AS numeric;\n-- put the CHECK on the columns: ALTER TABLE … ADD CONSTRAINT … CHECK (amount > 0) NOT VALID;",
    example_env: "",
};

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    let msg = match st.kind {
        Kind::CreateDomain { check: true } => "a CHECK on a domain can later only be changed with ALTER DOMAIN, which scans every table using the domain",
        Kind::AlterDomainAddConstraint => "ALTER DOMAIN … ADD CONSTRAINT checks every row of every column of this domain while locking those tables",
        _ => return,
    };
    cx.out.report(
        &RULE,
        st.range.clone(),
        msg.into(),
        "Put CHECK constraints on the columns instead, where they can be added NOT VALID and validated later:\n  ALTER TABLE <table> ADD CONSTRAINT <name> CHECK (<expr>) NOT VALID;\n  ALTER TABLE <table> VALIDATE CONSTRAINT <name>;  -- next migration\n(ALTER DOMAIN … ADD CONSTRAINT … NOT VALID + VALIDATE CONSTRAINT also works for a domain.)".into(),
        None,
    );
}
