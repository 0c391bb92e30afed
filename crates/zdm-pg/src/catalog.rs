//! Reading a schema's tables, columns, keys, indexes and constraints from the PostgreSQL catalog
//! into zdm-core's [`Schema`] model. zdm's own helper and archived columns (`_zdm_…`) are left
//! out: they are not part of any version an application sees.

use crate::error::Result;
use std::collections::BTreeMap;
use tokio_postgres::Client;
use zdm_core::schema::{Column, Constraint, Index, Schema, Table};

/// Prefix of every column, trigger and function zdm creates in user tables.
pub const INTERNAL_PREFIX: &str = "_zdm_";

/// The tables of `schema` as applications see them (zdm's internal columns left out).
pub async fn read_schema(c: &Client, schema: &str) -> Result<Schema> {
    read(c, schema, false).await
}

/// The tables of `schema` exactly as they are, zdm's helper columns included.
pub async fn read_physical(c: &Client, schema: &str) -> Result<Schema> {
    read(c, schema, true).await
}

async fn read(c: &Client, schema: &str, internal: bool) -> Result<Schema> {
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    let rows = c
        .query(
            "SELECT cl.relname, obj_description(cl.oid, 'pg_class') \
               FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace \
              WHERE n.nspname = $1 AND cl.relkind IN ('r', 'p')",
            &[&schema],
        )
        .await?;
    for r in rows {
        let name: String = r.get(0);
        tables.insert(
            name.clone(),
            Table {
                name: name.clone(),
                physical: name,
                comment: r.get(1),
                ..Default::default()
            },
        );
    }

    let rows = c
        .query(
            "SELECT cl.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, \
                    pg_get_expr(d.adbin, d.adrelid), col_description(cl.oid, a.attnum), \
                    nullif(a.attidentity::text, ''), \
                    pg_get_serial_sequence(format('%I.%I', n.nspname, cl.relname), a.attname) \
               FROM pg_attribute a \
               JOIN pg_class cl ON cl.oid = a.attrelid \
               JOIN pg_namespace n ON n.oid = cl.relnamespace \
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
              WHERE n.nspname = $1 AND cl.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped \
              ORDER BY cl.relname, a.attnum",
            &[&schema],
        )
        .await?;
    for r in rows {
        let table: String = r.get(0);
        let name: String = r.get(1);
        if !internal && name.starts_with(INTERNAL_PREFIX) {
            continue;
        }
        if let Some(t) = tables.get_mut(&table) {
            t.columns.push(Column {
                physical: name.clone(),
                name,
                data_type: r.get(2),
                nullable: r.get(3),
                default: r.get(4),
                comment: r.get(5),
                identity: r.get(6),
                sequence: r.get(7),
            });
        }
    }

    let rows = c
        .query(
            "SELECT cl.relname, con.conname, con.contype::text, con.convalidated, pg_get_constraintdef(con.oid), \
                    coalesce((SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(num, ord) \
                               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num), '{}'), \
                    (SELECT rc.relname FROM pg_class rc JOIN pg_namespace rn ON rn.oid = rc.relnamespace \
                      WHERE rc.oid = con.confrelid AND rn.nspname = n.nspname), \
                    coalesce((SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY k(num, ord) \
                               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num), '{}') \
               FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid \
               JOIN pg_namespace n ON n.oid = cl.relnamespace \
              WHERE n.nspname = $1 ORDER BY cl.relname, con.conname",
            &[&schema],
        )
        .await?;
    for r in rows {
        let table: String = r.get(0);
        if let Some(t) = tables.get_mut(&table) {
            let c = Constraint {
                name: r.get(1),
                kind: zdm_core::schema::ConstraintKind::from_contype(r.get(2)),
                validated: r.get(3),
                definition: r.get(4),
                columns: r.get(5),
                references: r.get::<_, Option<String>>(6).map(|table| (table, r.get(7))),
            };
            if c.kind == zdm_core::schema::ConstraintKind::PrimaryKey {
                t.primary_key = c.columns.clone();
            }
            t.constraints.push(c);
        }
    }

    let rows = c
        .query(
            "SELECT cl.relname, ic.relname, i.indisunique, i.indisprimary, pg_get_indexdef(i.indexrelid), \
                    (SELECT array_agg(coalesce(a.attname, '') ORDER BY k.ord) FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord) \
                       LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num) \
               FROM pg_index i JOIN pg_class cl ON cl.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid \
               JOIN pg_namespace n ON n.oid = cl.relnamespace \
              WHERE n.nspname = $1 ORDER BY cl.relname, ic.relname",
            &[&schema],
        )
        .await?;
    for r in rows {
        let table: String = r.get(0);
        if let Some(t) = tables.get_mut(&table) {
            t.indexes.push(Index {
                name: r.get(1),
                unique: r.get(2),
                primary: r.get(3),
                definition: r.get(4),
                columns: r.get(5),
            });
        }
    }
    Ok(Schema {
        name: schema.to_string(),
        tables,
    })
}
