//! The source side of a move: tables, columns, keys, indexes and foreign keys of one MySQL or
//! MariaDB database, read from `information_schema` only (nothing is locked or written).

use crate::{Error, Result};
use mysql_async::prelude::*;
use mysql_async::Conn;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which server family, from `SELECT VERSION()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    Mysql,
    Mariadb,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// 1-based position: binlog row images list columns in this order.
    pub ordinal: u32,
    /// `DATA_TYPE`, lower case: `int`, `varchar`, `enum`...
    pub data_type: String,
    /// `COLUMN_TYPE`, lower case: `int(10) unsigned`, `enum('a','b')`...
    pub column_type: String,
    pub unsigned: bool,
    pub nullable: bool,
    /// `COLUMN_DEFAULT` as the server reports it (MariaDB quotes string literals).
    pub default: Option<String>,
    pub auto_increment: bool,
    pub on_update_current_timestamp: bool,
    /// `VIRTUAL` / `STORED` generated columns, with their expression.
    pub generated: Option<String>,
    pub char_max_length: Option<u64>,
    pub numeric_precision: Option<u64>,
    pub numeric_scale: Option<u64>,
    pub datetime_precision: Option<u64>,
    pub charset: Option<String>,
    pub collation: Option<String>,
    /// Members of an ENUM or SET, in declared order.
    pub members: Vec<String>,
    /// MariaDB's JSON is LONGTEXT with a `json_valid()` check: true for those, and MySQL JSON.
    pub is_json: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexColumn {
    pub name: String,
    /// Prefix length (`KEY (c(10))`).
    pub sub_part: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Index {
    pub name: String,
    pub unique: bool,
    /// BTREE, HASH, FULLTEXT, SPATIAL.
    pub kind: String,
    pub columns: Vec<IndexColumn>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub referenced_table: String,
    pub referenced_columns: Vec<String>,
    pub on_update: String,
    pub on_delete: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    /// Primary key columns in key order (empty when the table has none).
    pub primary_key: Vec<String>,
    pub indexes: Vec<Index>,
    pub foreign_keys: Vec<ForeignKey>,
    /// `CHECK` constraints (name, MySQL expression), other than MariaDB's JSON checks.
    pub checks: Vec<(String, String)>,
    pub rows_estimated: u64,
    pub engine: Option<String>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub database: String,
    pub flavor: Flavor,
    pub version: String,
    /// `@@GLOBAL.sql_mode`: whether zero dates can be stored.
    pub sql_mode: String,
    pub tables: Vec<Table>,
}

impl Catalog {
    /// Whether the server accepts `0000-00-00` (or `2024-00-10`) dates now.
    pub fn allows_zero_dates(&self) -> bool {
        let mode = self.sql_mode.to_ascii_uppercase();
        !(mode.contains("NO_ZERO_DATE") && mode.contains("NO_ZERO_IN_DATE"))
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

pub fn flavor_of(version: &str) -> Flavor {
    if version.to_ascii_lowercase().contains("mariadb") {
        Flavor::Mariadb
    } else {
        Flavor::Mysql
    }
}

/// Members of `enum('a','b''c')` / `set(...)`, unquoted.
pub fn parse_members(column_type: &str) -> Vec<String> {
    let Some(open) = column_type.find('(') else {
        return vec![];
    };
    let body = &column_type[open + 1..];
    let mut out = Vec::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut member = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    member.push('\'');
                }
                '\'' => break,
                '\\' => {
                    if let Some(n) = chars.next() {
                        member.push(n);
                    }
                }
                c => member.push(c),
            }
        }
        out.push(member);
    }
    out
}

type ColumnRow = (
    String,
    String,
    u32,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
    (Option<u64>, Option<u64>, Option<u64>, Option<u64>),
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Reads the catalog of `database`.
pub async fn read(conn: &mut Conn, database: &str) -> Result<Catalog> {
    let version: String = conn
        .query_first("SELECT VERSION()")
        .await?
        .ok_or_else(|| Error::Db("SELECT VERSION() returned nothing".into()))?;
    let flavor = flavor_of(&version);
    let sql_mode: String = conn
        .query_first("SELECT @@GLOBAL.sql_mode")
        .await?
        .unwrap_or_default();
    let tables: Vec<(String, Option<u64>, Option<String>)> = conn
        .exec(
            "SELECT TABLE_NAME, TABLE_ROWS, ENGINE FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
            (database,),
        )
        .await?;
    let generation_expr = "GENERATION_EXPRESSION";
    let raw_columns: Vec<mysql_async::Row> = conn
        .exec(
            format!(
                "SELECT TABLE_NAME, COLUMN_NAME, CAST(ORDINAL_POSITION AS UNSIGNED), COLUMN_DEFAULT, \
                 IS_NULLABLE, LOWER(DATA_TYPE), LOWER(COLUMN_TYPE), LOWER(EXTRA), \
                 CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, \
                 CHARACTER_SET_NAME, COLLATION_NAME, {generation_expr} \
                 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? \
                 ORDER BY TABLE_NAME, ORDINAL_POSITION"
            ),
            (database,),
        )
        .await?;
    let mut columns: BTreeMap<String, Vec<Column>> = BTreeMap::new();
    for r in raw_columns {
        let row: ColumnRow = (
            r.get(0).unwrap_or_default(),
            r.get(1).unwrap_or_default(),
            r.get::<Option<u32>, _>(2).flatten().unwrap_or(0),
            r.get::<Option<String>, _>(3).flatten(),
            r.get(4).unwrap_or_default(),
            r.get(5).unwrap_or_default(),
            r.get(6).unwrap_or_default(),
            r.get::<Option<String>, _>(7).flatten(),
            (
                r.get::<Option<u64>, _>(8).flatten(),
                r.get::<Option<u64>, _>(9).flatten(),
                r.get::<Option<u64>, _>(10).flatten(),
                r.get::<Option<u64>, _>(11).flatten(),
            ),
            r.get::<Option<String>, _>(12).flatten(),
            r.get::<Option<String>, _>(13).flatten(),
            r.get::<Option<String>, _>(14).flatten(),
        );
        let (
            table,
            name,
            ordinal,
            default,
            nullable,
            data_type,
            column_type,
            extra,
            nums,
            cs,
            coll,
            gen,
        ) = row;
        let extra = extra.unwrap_or_default();
        let generated = if extra.contains("generated")
            || extra.contains("virtual")
            || extra.contains("persistent")
            || extra.contains("stored")
        {
            Some(gen.unwrap_or_default())
        } else {
            None
        };
        let members = if data_type == "enum" || data_type == "set" {
            parse_members(&column_type)
        } else {
            vec![]
        };
        // MariaDB reports a NULL default as the text NULL (10.2.7+).
        let default = default.filter(|d| !(flavor == Flavor::Mariadb && d == "NULL"));
        columns.entry(table).or_default().push(Column {
            name,
            ordinal,
            unsigned: column_type.contains("unsigned"),
            is_json: data_type == "json",
            data_type,
            column_type,
            nullable: nullable == "YES",
            default,
            auto_increment: extra.contains("auto_increment"),
            on_update_current_timestamp: extra.contains("on update current_timestamp"),
            generated,
            char_max_length: nums.0,
            numeric_precision: nums.1,
            numeric_scale: nums.2,
            datetime_precision: nums.3,
            charset: cs,
            collation: coll,
            members,
        });
    }
    let stats: Vec<(String, String, u32, String, Option<u64>, String)> = conn
        .exec(
            "SELECT TABLE_NAME, INDEX_NAME, CAST(NON_UNIQUE AS UNSIGNED), COLUMN_NAME, \
             CAST(SUB_PART AS UNSIGNED), INDEX_TYPE \
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? \
             ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
            (database,),
        )
        .await?;
    let mut indexes: BTreeMap<String, Vec<Index>> = BTreeMap::new();
    for (table, index, non_unique, column, sub_part, kind) in stats {
        let list = indexes.entry(table).or_default();
        match list.iter_mut().find(|i| i.name == index) {
            Some(i) => i.columns.push(IndexColumn {
                name: column,
                sub_part,
            }),
            None => list.push(Index {
                name: index,
                unique: non_unique == 0,
                kind,
                columns: vec![IndexColumn {
                    name: column,
                    sub_part,
                }],
            }),
        }
    }
    let fk_rows: Vec<(String, String, String, String, String, String, String)> = conn
        .exec(
            "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, \
             k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE \
             FROM information_schema.KEY_COLUMN_USAGE k \
             JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
               ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
              AND r.TABLE_NAME = k.TABLE_NAME \
             WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL \
             ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
            (database,),
        )
        .await?;
    let mut fks: BTreeMap<String, Vec<ForeignKey>> = BTreeMap::new();
    for (table, name, column, rtable, rcolumn, on_update, on_delete) in fk_rows {
        let list = fks.entry(table).or_default();
        match list.iter_mut().find(|f| f.name == name) {
            Some(f) => {
                f.columns.push(column);
                f.referenced_columns.push(rcolumn);
            }
            None => list.push(ForeignKey {
                name,
                columns: vec![column],
                referenced_table: rtable,
                referenced_columns: vec![rcolumn],
                on_update,
                on_delete,
            }),
        }
    }
    // CHECK constraints: MariaDB 10.2+ and MySQL 8.0.16+ have CHECK_CONSTRAINTS.
    let checks: Vec<(String, String, String)> = conn
        .exec(
            "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME",
            (database,),
        )
        .await
        .or_else(|e| match &e {
            mysql_async::Error::Server(s) if s.code == 1109 || s.code == 1146 => Ok(vec![]),
            _ => Err(e),
        })?;
    let mut table_checks: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (table, name, clause) in checks {
        table_checks.entry(table).or_default().push((name, clause));
    }
    let mut out = Vec::new();
    for (name, rows, engine) in tables {
        let mut cols = columns.remove(&name).unwrap_or_default();
        let mut checks = table_checks.remove(&name).unwrap_or_default();
        // MariaDB JSON columns: LONGTEXT + CHECK (json_valid(`c`)) named after the column.
        checks.retain(|(cname, clause)| {
            let lc = clause.to_ascii_lowercase().replace(' ', "");
            match cols.iter_mut().find(|c| {
                c.name == *cname && lc == format!("json_valid(`{}`)", c.name.to_ascii_lowercase())
            }) {
                Some(c) => {
                    c.is_json = true;
                    false
                }
                None => true,
            }
        });
        let idx = indexes.remove(&name).unwrap_or_default();
        let primary_key = idx
            .iter()
            .find(|i| i.name == "PRIMARY")
            .map(|i| i.columns.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default();
        out.push(Table {
            name: name.clone(),
            columns: cols,
            primary_key,
            indexes: idx.into_iter().filter(|i| i.name != "PRIMARY").collect(),
            foreign_keys: fks.remove(&name).unwrap_or_default(),
            checks,
            rows_estimated: rows.unwrap_or(0),
            engine,
        });
    }
    Ok(Catalog {
        database: database.to_string(),
        flavor,
        version,
        sql_mode,
        tables: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_members_unquote() {
        assert_eq!(
            parse_members("enum('a','b''c','d,e')"),
            vec!["a", "b'c", "d,e"]
        );
        assert_eq!(parse_members("set('x')"), vec!["x"]);
    }
}
