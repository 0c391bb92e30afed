//! The version schema: one view per table, showing the table as one version of the application
//! sees it. Views are plain column-list projections, so PostgreSQL keeps them auto-updatable:
//! reads and writes through them reach the physical table. A view column has no default of its
//! own, so each gets its column's (`INSERT … DEFAULT` / `SET c = DEFAULT` through the view then
//! means what it means on the table).

use super::{Target, VersionMapping};
use crate::ident::{quote_ident, quote_qualified};
use crate::schema::{Schema, Table};

const INTERNAL: &str = "_zdm_";

/// (physical, logical) columns of a table as the new version sees it, in table order; a
/// duplicated column takes the place of the column it replaces.
pub fn visible_columns(table: &Table, mapping: &VersionMapping) -> Vec<(String, String)> {
    let m = mapping.tables.iter().find(|m| m.physical == table.physical);
    let renamed: &[(String, String)] = m.map(|m| m.renamed.as_slice()).unwrap_or(&[]);
    let hidden: &[String] = m.map(|m| m.hidden.as_slice()).unwrap_or(&[]);
    let replaces: Vec<(String, String)> = match m {
        Some(m) if !m.replaces.is_empty() => m.replaces.clone(),
        // Plans stored before `replaces` existed: a helper renamed to the column it replaces.
        _ => renamed
            .iter()
            .filter(|(l, q)| q.starts_with(INTERNAL) && hidden.contains(l))
            .map(|(l, q)| (q.clone(), l.clone()))
            .collect(),
    };
    let exists = |p: &str| table.columns.iter().any(|c| c.physical == p);
    let logical = |p: &str| renamed.iter().find(|(_, q)| q == p).map(|(l, _)| l.clone());
    let mut out = Vec::new();
    for c in &table.columns {
        let p = &c.physical;
        if replaces.iter().any(|(helper, _)| helper == p) {
            continue; // shown in the place of the column it replaces
        }
        if hidden.contains(p) {
            let helper = replaces
                .iter()
                .find(|(helper, original)| original == p && exists(helper));
            if let Some((helper, _)) = helper {
                if let Some(l) = logical(helper) {
                    out.push((helper.clone(), l));
                }
            }
            continue;
        }
        if let Some(l) = logical(p) {
            out.push((p.clone(), l));
            continue;
        }
        if p.starts_with(INTERNAL) {
            continue;
        }
        out.push((p.clone(), p.clone()));
    }
    out
}

/// Logical name of a physical table in the new version, or None when it is hidden.
pub fn logical_table_name<'a>(physical: &'a str, mapping: &'a VersionMapping) -> Option<&'a str> {
    if mapping.hidden_tables.iter().any(|t| t == physical) {
        return None;
    }
    if let Some(m) = mapping.tables.iter().find(|m| m.physical == physical) {
        return Some(m.logical.as_str());
    }
    (!physical.starts_with(INTERNAL)).then_some(physical)
}

/// The statements that create the version schema for `physical` (the catalog after the expand,
/// helper columns included).
pub fn create_version_schema(
    target: &Target,
    physical: &Schema,
    mapping: &VersionMapping,
) -> Vec<String> {
    let tables = physical.tables.values().filter_map(|t| {
        let logical = logical_table_name(&t.physical, mapping)?;
        let cols = visible_columns(t, mapping)
            .into_iter()
            .map(|(p, l)| {
                let default = t
                    .columns
                    .iter()
                    .find(|c| c.physical == p)
                    .and_then(|c| c.default.clone());
                (p, l, default)
            })
            .collect();
        Some((logical.to_string(), t.physical.clone(), cols))
    });
    statements(target, tables)
}

/// The same statements predicted from the planner's logical model (for `zdm plan`).
pub fn preview_version_schema(target: &Target, new_schema: &Schema) -> Vec<String> {
    let tables = new_schema.tables.values().map(|t| {
        let cols = t
            .columns
            .iter()
            .map(|c| (c.physical.clone(), c.name.clone(), c.default.clone()))
            .collect();
        (t.name.clone(), t.physical.clone(), cols)
    });
    statements(target, tables)
}

fn statements(
    target: &Target,
    tables: impl Iterator<Item = (String, String, Vec<(String, String, Option<String>)>)>,
) -> Vec<String> {
    let vs = quote_ident(&target.version_schema);
    let mut out = vec![format!("CREATE SCHEMA IF NOT EXISTS {vs}")];
    let options = if target.server_version >= 150000 {
        " WITH (security_invoker = true)"
    } else {
        ""
    };
    for (logical, physical, cols) in tables {
        if cols.is_empty() {
            continue;
        }
        let list = cols
            .iter()
            .map(|(p, l, _)| {
                if p == l {
                    quote_ident(p)
                } else {
                    format!("{} AS {}", quote_ident(p), quote_ident(l))
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        out.push(format!(
            "CREATE OR REPLACE VIEW {vs}.{}{options} AS SELECT {list} FROM {}",
            quote_ident(&logical),
            quote_qualified(&target.schema, &physical)
        ));
        for (_, l, default) in &cols {
            // Not a sequence's nextval(): the view would then hold the sequence, and the
            // column that owns it could no longer be dropped at complete.
            if let Some(d) = default.as_ref().filter(|d| !d.contains("nextval(")) {
                out.push(format!(
                    "ALTER VIEW {vs}.{} ALTER COLUMN {} SET DEFAULT {d}",
                    quote_ident(&logical),
                    quote_ident(l)
                ));
            }
        }
    }
    out
}
