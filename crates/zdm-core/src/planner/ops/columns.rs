//! SQL for column definitions and references, shared by create_table, add_column, alter_column.

use crate::ident::quote_ident;
use crate::operations::{Column, ForeignKeyReference, Generated, TableForeignKeyReference};
use crate::schema;

/// Whether a default is a plain constant (PostgreSQL 11+ adds such a column without touching
/// rows). Anything else might be volatile, and `ADD COLUMN … DEFAULT random()` rewrites the table.
pub fn is_constant(expr: &str) -> bool {
    let e = expr.trim();
    let body = match e.rfind("::") {
        Some(i)
            if e[i + 2..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " _()[],\"".contains(c)) =>
        {
            &e[..i]
        }
        _ => e,
    };
    let body = body
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "true" | "false" | "null") {
        return true;
    }
    if body.parse::<f64>().is_ok() || body.trim_start_matches('-').parse::<f64>().is_ok() {
        return true;
    }
    let quoted = body.starts_with('\'')
        && body.ends_with('\'')
        && body.len() >= 2
        && !body[1..body.len() - 1].replace("''", "").contains('\'');
    quoted || (body.starts_with("E'") && body.ends_with('\''))
}

pub fn references_sql(r: &ForeignKeyReference) -> String {
    let mut s = format!(
        "REFERENCES {}({})",
        quote_ident(&r.table),
        quote_ident(&r.column)
    );
    if let Some(m) = &r.match_type {
        s.push_str(&format!(" MATCH {}", m.to_ascii_uppercase()));
    }
    if let Some(a) = &r.on_delete {
        s.push_str(&format!(" ON DELETE {}", a.to_ascii_uppercase()));
    }
    if let Some(a) = &r.on_update {
        s.push_str(&format!(" ON UPDATE {}", a.to_ascii_uppercase()));
    }
    if r.deferrable {
        s.push_str(" DEFERRABLE");
        if r.initially_deferred {
            s.push_str(" INITIALLY DEFERRED");
        }
    }
    s
}

pub fn table_references_sql(r: &TableForeignKeyReference) -> String {
    let cols = r
        .columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    let mut s = format!("REFERENCES {}({cols})", quote_ident(&r.table));
    if let Some(m) = &r.match_type {
        s.push_str(&format!(" MATCH {}", m.to_ascii_uppercase()));
    }
    if let Some(a) = &r.on_delete {
        s.push_str(&format!(" ON DELETE {}", a.to_ascii_uppercase()));
        if let Some(cols) = &r.on_delete_set_columns {
            s.push_str(&format!(
                " ({})",
                cols.iter()
                    .map(|c| quote_ident(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    if let Some(a) = &r.on_update {
        s.push_str(&format!(" ON UPDATE {}", a.to_ascii_uppercase()));
    }
    s
}

fn generated_sql(g: &Generated) -> String {
    if let Some(expr) = &g.expression {
        return format!(" GENERATED ALWAYS AS ({expr}) STORED");
    }
    match &g.identity {
        Some(id) => {
            let how = id
                .user_specified_values
                .as_deref()
                .unwrap_or("ALWAYS")
                .to_ascii_uppercase();
            let opts = id
                .sequence_options
                .as_deref()
                .filter(|o| !o.is_empty())
                .map(|o| format!(" ({o})"))
                .unwrap_or_default();
            format!(" GENERATED {how} AS IDENTITY{opts}")
        }
        None => String::new(),
    }
}

/// A column as it appears in CREATE TABLE (the primary key is a table constraint).
pub fn column_definition(c: &Column, not_null: bool) -> String {
    let mut s = format!("{} {}", quote_ident(&c.name), c.data_type);
    if let Some(g) = &c.generated {
        s.push_str(&generated_sql(g));
    }
    if not_null {
        s.push_str(" NOT NULL");
    }
    if let Some(d) = &c.default {
        s.push_str(&format!(" DEFAULT {d}"));
    }
    if c.unique {
        s.push_str(" UNIQUE");
    }
    if let Some(chk) = &c.check {
        s.push_str(&format!(
            " CONSTRAINT {} CHECK ({})",
            quote_ident(&chk.name),
            chk.constraint
        ));
        if chk.no_inherit {
            s.push_str(" NO INHERIT");
        }
    }
    if let Some(r) = &c.references {
        s.push_str(&format!(
            " CONSTRAINT {} {}",
            quote_ident(&r.name),
            references_sql(r)
        ));
    }
    s
}

/// The model of a column created from an operation.
pub fn model(c: &Column) -> schema::Column {
    schema::Column {
        name: c.name.clone(),
        physical: c.name.clone(),
        data_type: c.data_type.clone(),
        nullable: c.nullable && !c.pk,
        default: c.default.clone(),
        comment: c.comment.clone(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::is_constant;

    #[test]
    fn constants_and_volatile_defaults() {
        for c in [
            "0",
            "-1.5",
            "'unknown event'",
            "'a''b'::text",
            "true",
            "NULL",
            "'2024-01-01'::date",
            "(42)",
        ] {
            assert!(is_constant(c), "{c}");
        }
        for v in [
            "(random() * 1000)::int",
            "now()",
            "nextval('s')",
            "gen_random_uuid()",
            "'a' || 'b'",
        ] {
            assert!(!is_constant(v), "{v}");
        }
    }
}
