use crate::finding::Severity;
use crate::mysql::model::{ColumnDef, Stmt};
use crate::mysql::Cx;
use crate::rules::{Engine, RuleInfo};
use crate::schema::QName;

pub(crate) static RULE: RuleInfo = RuleInfo {
    id: "my-enum-set-change",
    engine: Engine::Mysql,
    severity: Severity::Error,
    default_enabled: true,
    summary: "ENUM/SET change other than appending members at the end (without changing the storage size)",
    why: "Appending members is INSTANT. Reordering, removing or inserting members in the middle, or crossing a storage-size boundary (ENUM: 255 members; SET: 8/16/24/32 members), changes stored values: a table copy with writes blocked.",
    versions: "",
    bad: "CREATE TABLE orders (id BIGINT PRIMARY KEY, status ENUM('new', 'paid'));\n---\nSET SESSION lock_wait_timeout = 5;\nALTER TABLE orders MODIFY status ENUM('new', 'refunded', 'paid'), ALGORITHM=INPLACE, LOCK=NONE;",
    good: "CREATE TABLE orders (id BIGINT PRIMARY KEY, status ENUM('new', 'paid'));\n---\nSET SESSION lock_wait_timeout = 5;\nALTER TABLE orders MODIFY status ENUM('new', 'paid', 'refunded'), ALGORITHM=INSTANT;",
    example_env: "",
};

fn members_of(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut inq = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, inq) {
            ('\'', false) => inq = true,
            ('\'', true) if chars.peek() == Some(&'\'') => {
                cur.push('\'');
                chars.next();
            }
            ('\'', true) => {
                inq = false;
                out.push(std::mem::take(&mut cur));
            }
            (c, true) => cur.push(c),
            _ => {}
        }
    }
    out
}

fn storage(kind: &str, n: usize) -> usize {
    if kind == "enum" {
        if n <= 255 {
            1
        } else {
            2
        }
    } else {
        match n {
            0..=8 => 1,
            9..=16 => 2,
            17..=24 => 3,
            25..=32 => 4,
            _ => 8,
        }
    }
}

/// Old members, if the column is a known ENUM/SET and the new definition is one too.
fn old_members(cx: &Cx, table: &QName, old: &str, col: &ColumnDef) -> Option<Option<Vec<String>>> {
    let new = col.ty.as_ref()?;
    if new.name != "enum" && new.name != "set" {
        return None;
    }
    Some(
        cx.schema
            .table(table)
            .and_then(|t| t.column(old))
            .and_then(|c| c.ty.clone())
            .filter(|t| t.name == new.name)
            .map(|t| members_of(&t.text)),
    )
}

/// Whether the MODIFY is an INSTANT append (also used by the INSTANT table).
pub(crate) fn is_append(cx: &Cx, table: &QName, old: &str, col: &ColumnDef) -> bool {
    match old_members(cx, table, old, col) {
        Some(Some(before)) => {
            let kind = col.ty.as_ref().map(|t| t.name.as_str()).unwrap_or("enum");
            col.members.len() >= before.len()
                && col.members[..before.len()] == before[..]
                && storage(kind, before.len()) == storage(kind, col.members.len())
        }
        _ => false,
    }
}

pub(crate) fn check(cx: &mut Cx, st: &Stmt) {
    for (table, s, old, col) in super::modified_columns(cx, st) {
        let Some(before) = old_members(cx, table, old, col) else {
            continue;
        };
        if is_append(cx, table, old, col) {
            continue;
        }
        let why = match &before {
            None => "the current members are unknown to the linter, so this may reorder or remove members".to_string(),
            Some(b) if b == &col.members => continue,
            Some(b) => format!("members change from ({}) to ({})", b.join(", "), col.members.join(", ")),
        };
        cx.out.report(
            &RULE,
            s.range.clone(),
            format!("changing {table}.{old}: {why}; anything but appending at the end copies the table"),
            "Only append new members at the end (INSTANT, pin ALGORITHM=INSTANT); to reorder or remove, add a new column and migrate the data.".into(),
            Some(super::copy_lock(table)),
        );
    }
}
