use crate::finding::Severity;
use crate::mysql::model::{ColumnDef, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::TypeName;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "my-alter-column-type",
    engine: Engine::Mysql,
    severity: Severity::Error,
    default_enabled: true,
    summary: "MODIFY/CHANGE that changes a column's type",
    why: "Changing a column's data type needs ALGORITHM=COPY: the table is copied while writes are blocked. Exception: a VARCHAR length increase that stays within the same length-prefix size (≤255 bytes, or >255 to >255) is INPLACE and metadata-only.",
    versions: "Byte lengths assume utf8mb4 (4 bytes per character) unless the column states its charset.",
    bad: "CREATE TABLE orders (id BIGINT PRIMARY KEY, amount INT NOT NULL);\n---\nSET SESSION lock_wait_timeout = 5;\nALTER TABLE orders MODIFY amount BIGINT NOT NULL, ALGORITHM=INPLACE, LOCK=NONE;",
    good: "CREATE TABLE orders (id BIGINT PRIMARY KEY, note VARCHAR(20) CHARACTER SET latin1);\n---\nSET SESSION lock_wait_timeout = 5;\nALTER TABLE orders MODIFY note VARCHAR(100) CHARACTER SET latin1, ALGORITHM=INPLACE, LOCK=NONE;",
    example_env: "",
};

fn bytes_per_char(charset: Option<&str>) -> i64 {
    match charset {
        Some("latin1") | Some("ascii") | Some("binary") => 1,
        Some("utf8") | Some("utf8mb3") => 3,
        _ => 4,
    }
}

/// Whether `from → to` is an in-place VARCHAR extension (same length-prefix size).
fn varchar_extension(
    from: &TypeName,
    from_cs: Option<&str>,
    to: &TypeName,
    to_cs: Option<&str>,
) -> bool {
    if from.name != "varchar" || to.name != "varchar" || from_cs != to_cs {
        return false;
    }
    let (Some(a), Some(b)) = (from.args.first(), to.args.first()) else {
        return false;
    };
    let bpc = bytes_per_char(to_cs);
    b >= a && ((a * bpc <= 255) == (b * bpc <= 255))
}

pub(crate) fn type_change(
    cx: &Cx,
    table: &crate::schema::QName,
    old: &str,
    col: &ColumnDef,
) -> Option<String> {
    let new = col.ty.as_ref()?;
    let current = cx
        .schema
        .table(table)
        .and_then(|t| t.column(old))
        .and_then(|c| c.ty.clone());
    match current {
        None => Some(format!(
            "the current type of {old} is unknown to the linter; {} may be a type change",
            new.text
        )),
        Some(cur) if cur.name == new.name && cur.args == new.args => None,
        Some(cur)
            if varchar_extension(&cur, col.charset.as_deref(), new, col.charset.as_deref()) =>
        {
            None
        }
        Some(cur) if (cur.name == "enum" || cur.name == "set") && cur.name == new.name => None, // my-enum-set-change
        Some(cur) => Some(format!("{} → {}", cur.text, new.text)),
    }
}

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    for (table, s, old, col) in super::modified_columns(cx, st) {
        let Some(change) = type_change(cx, table, old, col) else {
            continue;
        };
        if col
            .ty
            .as_ref()
            .is_some_and(|t| t.name == "enum" || t.name == "set")
            && !change.contains("→")
        {
            continue;
        }
        cx.out.report(
            &RULE,
            s.range.clone(),
            format!("changing the type of {table}.{old} ({change}) copies the table (ALGORITHM=COPY): writes are blocked for the whole copy"),
            format!("Add a new column, backfill it in batches, switch the code, drop the old one; or use gh-ost / pt-online-schema-change:\n  ALTER TABLE {} ADD COLUMN {} {}, ALGORITHM=INSTANT;", table.my(), crate::schema::my_ident(&format!("{}_new", col.name)), col.ty.as_ref().map(|t| t.text.clone()).unwrap_or_default()),
            Some(super::copy_lock(table)),
        );
    }
}
