//! Building the [`MovePlan`] (an API boundary: stored as JSON in the job).

use super::cast::CastFile;
use super::kind::ValueKind;
use super::rules::{fill, DEFAULT_RULES};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use zdm_core::ident::{quote_ident, quote_literal, quote_qualified};
use zdm_mysql::catalog::{Catalog, Column, Table};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColumnPlan {
    pub source: String,
    pub target: String,
    /// The source COLUMN_TYPE (`int(10) unsigned`).
    pub source_type: String,
    pub source_data_type: String,
    pub pg_type: String,
    pub kind: ValueKind,
    /// Which rule (or cast) decided the type.
    pub rule: String,
    pub nullable: bool,
    pub default: Option<String>,
    pub identity: bool,
    pub unsigned: bool,
    /// ENUM/SET members in declared order (binlog images carry an index / bitmask).
    pub members: Vec<String>,
    /// BIT(n) width.
    pub bits: Option<u64>,
    /// CHAR/BINARY length (the binlog strips BINARY's trailing zero bytes; they are put back).
    pub length: Option<u64>,
    pub charset: Option<String>,
    /// Zero and partial-zero dates become NULL.
    pub zero_dates_to_null: bool,
    pub generated: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum PostStepKind {
    /// Non-unique index: built right after the copy, before the change stream is replayed.
    Index,
    /// Unique index: built once the replay has converged (a copy taken over time can hold
    /// transient duplicates until then).
    UniqueIndex,
    ForeignKey,
    Validate,
    /// `ON UPDATE CURRENT_TIMESTAMP` emulation.
    Trigger,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PostStep {
    pub kind: PostStepKind,
    pub name: String,
    pub sql: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TablePlan {
    pub source: String,
    pub target: String,
    pub columns: Vec<ColumnPlan>,
    /// Key used for chunking and for applying changes (source column names): the primary key,
    /// else the first unique key over NOT NULL columns.
    pub key: Vec<String>,
    pub create: Vec<String>,
    pub post: Vec<PostStep>,
    /// Foreign keys of this table (the child side), as the change stream needs them: InnoDB's
    /// cascades are not in the binlog, so until the target has the constraint the applier
    /// carries them out itself.
    #[serde(default)]
    pub foreign_keys: Vec<ForeignKeyPlan>,
    pub rows_estimated: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ForeignKeyPlan {
    pub name: String,
    /// Target column names in this table.
    pub columns: Vec<String>,
    /// Source name of the referenced table.
    pub parent: String,
    /// Target column names in the referenced table.
    pub parent_columns: Vec<String>,
    pub on_delete: String,
    pub on_update: String,
}

impl TablePlan {
    pub fn column(&self, source: &str) -> Option<&ColumnPlan> {
        self.columns.iter().find(|c| c.source == source)
    }
    pub fn key_columns(&self) -> Vec<&ColumnPlan> {
        self.key.iter().filter_map(|k| self.column(k)).collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Warning {
    pub table: String,
    pub column: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MovePlan {
    pub source_database: String,
    pub source_version: String,
    pub target_schema: String,
    pub tables: Vec<TablePlan>,
    pub warnings: Vec<Warning>,
    /// Tables that cannot be moved, with why (the plan is refused while any is left in).
    pub refused: Vec<Warning>,
}

impl Warning {
    /// `table.column: message`.
    pub fn describe(&self) -> String {
        match &self.column {
            Some(c) => format!("{}.{c}: {}", self.table, self.message),
            None => format!("{}: {}", self.table, self.message),
        }
    }
}

impl MovePlan {
    /// The refusal, when some table cannot be moved.
    pub fn refusal(&self) -> Option<String> {
        if self.refused.is_empty() {
            return None;
        }
        let lines: Vec<String> = self.refused.iter().map(Warning::describe).collect();
        Some(format!("cannot move:\n  {}", lines.join("\n  ")))
    }

    pub fn table(&self, source: &str) -> Option<&TablePlan> {
        self.tables.iter().find(|t| t.source == source)
    }

    /// Every statement, in order, as `zdm move plan` prints it.
    pub fn ddl(&self) -> String {
        let mut out = format!(
            "CREATE SCHEMA IF NOT EXISTS {};\n",
            quote_ident(&self.target_schema)
        );
        for t in &self.tables {
            out.push_str(&format!(
                "\n-- {} ({} rows estimated)\n",
                t.source, t.rows_estimated
            ));
            for s in &t.create {
                out.push_str(s);
                out.push_str(";\n");
            }
        }
        for kind in [
            PostStepKind::Index,
            PostStepKind::Trigger,
            PostStepKind::UniqueIndex,
            PostStepKind::ForeignKey,
            PostStepKind::Validate,
        ] {
            let steps: Vec<&PostStep> = self
                .tables
                .iter()
                .flat_map(|t| &t.post)
                .filter(|s| s.kind == kind)
                .collect();
            if steps.is_empty() {
                continue;
            }
            out.push_str(match kind {
                PostStepKind::Index => "\n-- after the copy: indexes (in parallel)\n",
                PostStepKind::Trigger => {
                    "\n-- after the copy: ON UPDATE CURRENT_TIMESTAMP triggers\n"
                }
                PostStepKind::UniqueIndex => {
                    "\n-- once the change stream has converged: unique indexes\n"
                }
                PostStepKind::ForeignKey => "\n-- then foreign keys (NOT VALID, then validated)\n",
                PostStepKind::Validate => "",
            });
            for s in steps {
                out.push_str(&s.sql);
                out.push_str(";\n");
            }
        }
        out
    }
}

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub target_schema: Option<String>,
    pub tables: Vec<String>,
    pub exclude: Vec<String>,
    pub cast: CastFile,
}

/// Lower-cases names when no two in the set collide that way; otherwise keeps them as they are.
fn target_names<'a>(names: impl Iterator<Item = &'a str> + Clone) -> BTreeMap<String, String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for n in names.clone() {
        *counts.entry(n.to_lowercase()).or_default() += 1;
    }
    names
        .map(|n| {
            let lower = n.to_lowercase();
            let t = if counts[&lower] == 1 {
                lower
            } else {
                n.to_string()
            };
            (n.to_string(), t)
        })
        .collect()
}

/// A PostgreSQL name of at most 63 bytes (a hash suffix when it had to be cut).
pub fn pg_name(parts: &[&str]) -> String {
    let joined = parts.join("_");
    if joined.len() <= 63 {
        return joined;
    }
    let mut h: u32 = 2166136261;
    for b in joined.bytes() {
        h = (h ^ b as u32).wrapping_mul(16777619);
    }
    let mut cut = 54;
    while !joined.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{h:08x}", &joined[..cut])
}

fn is_zero_date(s: &str) -> bool {
    let s = s.trim_matches('\'');
    s.starts_with("0000-") || s.contains("-00")
}

/// The PostgreSQL default for a source default, or a warning saying why it was dropped.
fn convert_default(col: &Column, kind: ValueKind) -> Result<Option<String>, String> {
    let Some(raw) = col.default.as_deref() else {
        return Ok(None);
    };
    let lower = raw.to_ascii_lowercase();
    if lower.starts_with("current_timestamp")
        || lower.starts_with("now(")
        || lower == "localtimestamp"
    {
        return match kind {
            ValueKind::Timestamptz => Ok(Some("CURRENT_TIMESTAMP".into())),
            ValueKind::Timestamp => Ok(Some("LOCALTIMESTAMP".into())),
            ValueKind::Date => Ok(Some("CURRENT_DATE".into())),
            _ => Err(format!(
                "default {raw} dropped (no equivalent for {kind:?})"
            )),
        };
    }
    // MariaDB quotes literal defaults; MySQL does not.
    let literal = if raw.len() >= 2 && raw.starts_with('\'') && raw.ends_with('\'') {
        raw[1..raw.len() - 1]
            .replace("''", "'")
            .replace("\\\\", "\\")
    } else {
        raw.to_string()
    };
    let numeric = |s: &str| s.parse::<f64>().is_ok();
    match kind {
        ValueKind::Bool => match literal.as_str() {
            "0" | "b'0'" => Ok(Some("false".into())),
            "1" | "b'1'" => Ok(Some("true".into())),
            _ => Err(format!("default {raw} dropped (not 0 or 1)")),
        },
        ValueKind::Int2
        | ValueKind::Int4
        | ValueKind::Int8
        | ValueKind::Numeric
        | ValueKind::Float4
        | ValueKind::Float8
            if numeric(&literal) =>
        {
            Ok(Some(literal))
        }
        ValueKind::Text | ValueKind::TextArray if col.data_type == "set" => {
            let items: Vec<String> = literal
                .split(',')
                .filter(|s| !s.is_empty())
                .map(quote_literal)
                .collect();
            Ok(Some(format!("ARRAY[{}]::text[]", items.join(", "))))
        }
        ValueKind::Text if !raw.contains('(') || raw.starts_with('\'') => {
            Ok(Some(quote_literal(&literal)))
        }
        ValueKind::Date | ValueKind::Timestamp | ValueKind::Timestamptz | ValueKind::Time => {
            if is_zero_date(&literal) && kind != ValueKind::Time {
                Err(format!("zero-date default {raw} dropped"))
            } else {
                Ok(Some(quote_literal(&literal)))
            }
        }
        _ => Err(format!(
            "default {raw} dropped (an expression zdm does not translate)"
        )),
    }
}

/// Builds the plan for `catalog` (tables sorted by name).
pub fn plan(catalog: &Catalog, opts: &PlanOptions) -> MovePlan {
    let target_schema = opts
        .target_schema
        .clone()
        .unwrap_or_else(|| catalog.database.to_lowercase());
    let selected: Vec<&Table> = catalog
        .tables
        .iter()
        .filter(|t| opts.tables.is_empty() || opts.tables.iter().any(|n| n == &t.name))
        .filter(|t| !opts.exclude.iter().any(|n| n == &t.name))
        .collect();
    let table_names = target_names(selected.iter().map(|t| t.name.as_str()));
    let mut warnings = Vec::new();
    let mut refused = Vec::new();
    let mut tables = Vec::new();
    let zero_dates_possible = catalog.allows_zero_dates();
    for t in &selected {
        let target = table_names[&t.name].clone();
        let qtable = quote_qualified(&target_schema, &target);
        let col_names = target_names(t.columns.iter().map(|c| c.name.as_str()));
        let warn = |w: &mut Vec<Warning>, column: Option<&str>, message: String| {
            w.push(Warning {
                table: t.name.clone(),
                column: column.map(str::to_string),
                message,
            })
        };
        // The key: primary key, else a unique index over NOT NULL columns without prefixes.
        let key: Vec<String> = if !t.primary_key.is_empty() {
            t.primary_key.clone()
        } else if let Some(u) = t.indexes.iter().find(|i| {
            i.unique
                && i.columns.iter().all(|c| {
                    c.sub_part.is_none() && t.column(&c.name).is_some_and(|col| !col.nullable)
                })
        }) {
            warn(&mut warnings, None, format!("no primary key: unique key {} (NOT NULL columns) is used to copy and apply changes", u.name));
            u.columns.iter().map(|c| c.name.clone()).collect()
        } else {
            warn(
                &mut refused,
                None,
                "no primary key and no unique key over NOT NULL columns: rows cannot be copied in chunks or changes applied safely; add a primary key or --exclude the table".into(),
            );
            continue;
        };
        let mut columns = Vec::new();
        let mut defs = Vec::new();
        let mut post = Vec::new();
        let mut unsupported = false;
        for c in &t.columns {
            let decided = opts.cast.lookup(&t.name, c).or_else(|| {
                DEFAULT_RULES
                    .iter()
                    .find(|r| r.when.matches(c))
                    .map(|r| (r.name.to_string(), fill(r.to, c), r.kind))
            });
            let Some((rule, pg_type, kind)) = decided else {
                warn(
                    &mut refused,
                    Some(&c.name),
                    format!("type {} has no conversion rule; add one to the cast file (e.g. `columns: {{ {}.{}: text }}`) or --exclude the table", c.column_type, t.name, c.name),
                );
                unsupported = true;
                continue;
            };
            let target_col = col_names[&c.name].clone();
            let is_date = matches!(c.data_type.as_str(), "date" | "datetime" | "timestamp");
            let zero_default = c.default.as_deref().is_some_and(is_zero_date) && is_date;
            let mut nullable = c.nullable;
            if is_date && !c.nullable && (zero_dates_possible || zero_default) {
                nullable = false;
                if matches!(
                    kind,
                    ValueKind::Date | ValueKind::Timestamp | ValueKind::Timestamptz
                ) {
                    nullable = true;
                    warn(&mut warnings, Some(&c.name), "NOT NULL dropped: zero dates (0000-00-00) are allowed by the source's sql_mode and become NULL".into());
                }
            }
            let default = match convert_default(c, kind) {
                Ok(d) => d,
                Err(w) => {
                    warn(&mut warnings, Some(&c.name), w);
                    None
                }
            };
            let identity = c.auto_increment
                && matches!(
                    kind,
                    ValueKind::Int2 | ValueKind::Int4 | ValueKind::Int8 | ValueKind::Numeric
                );
            let pg_type = if identity && kind == ValueKind::Numeric {
                warn(&mut warnings, Some(&c.name), "bigint unsigned AUTO_INCREMENT becomes a bigint identity: values above 9223372036854775807 cannot be copied".into());
                "bigint".to_string()
            } else {
                pg_type
            };
            let kind = if identity && kind == ValueKind::Numeric {
                ValueKind::Int8
            } else {
                kind
            };
            match c.data_type.as_str() {
                "time" if kind == ValueKind::Time => warn(&mut warnings, Some(&c.name), "TIME values outside 00:00:00–24:00:00 (MySQL allows ±838:59:59) stop the copy with an error naming the row; cast `time: interval` keeps them".into()),
                "float" | "double" if c.numeric_scale.is_some() => warn(&mut warnings, Some(&c.name), format!("{} has a fixed scale in MySQL; PostgreSQL stores the value without rounding it", c.column_type)),
                _ => {}
            }
            if let Some(g) = &c.generated {
                warn(&mut warnings, Some(&c.name), format!("generated column ({g}) becomes a plain column; its values are copied as the source computed them"));
            }
            if let Some(coll) = &c.collation {
                if coll.ends_with("_ci")
                    && kind == ValueKind::Text
                    && t.indexes
                        .iter()
                        .any(|i| i.unique && i.columns.iter().any(|ic| ic.name == c.name))
                {
                    warn(&mut warnings, Some(&c.name), format!("collation {coll} is case-insensitive: values unique in MySQL ignoring case may differ only by case, and PostgreSQL's unique index compares them exactly"));
                }
            }
            let mut def = format!("{} {}", quote_ident(&target_col), pg_type);
            if identity {
                def.push_str(" GENERATED BY DEFAULT AS IDENTITY");
            } else if let Some(d) = &default {
                def.push_str(&format!(" DEFAULT {d}"));
            }
            if !nullable {
                def.push_str(" NOT NULL");
            }
            let qcol = quote_ident(&target_col);
            if c.data_type == "enum" && kind == ValueKind::Text {
                let list: Vec<String> = c.members.iter().map(|m| quote_literal(m)).collect();
                def.push_str(&format!(" CHECK ({qcol} IN ({}))", list.join(", ")));
            }
            if c.data_type == "set" && kind == ValueKind::TextArray {
                let list: Vec<String> = c.members.iter().map(|m| quote_literal(m)).collect();
                def.push_str(&format!(
                    " CHECK ({qcol} <@ ARRAY[{}]::text[])",
                    list.join(", ")
                ));
            }
            defs.push(def);
            if c.on_update_current_timestamp {
                let func = quote_qualified(
                    &target_schema,
                    &pg_name(&[&target, &target_col, "on_update"]),
                );
                let now = if kind == ValueKind::Timestamptz {
                    "CURRENT_TIMESTAMP"
                } else {
                    "LOCALTIMESTAMP"
                };
                post.push(PostStep {
                    kind: PostStepKind::Trigger,
                    name: format!("{}.{} ON UPDATE", t.name, c.name),
                    sql: format!(
                        "CREATE OR REPLACE FUNCTION {func}() RETURNS trigger LANGUAGE plpgsql AS $zdm$\nBEGIN\n    -- zdm's change stream carries the source's own value\n    IF current_setting('zdm.applying', true) = 'on' THEN RETURN NEW; END IF;\n    IF NEW.{qcol} IS NOT DISTINCT FROM OLD.{qcol} AND NEW IS DISTINCT FROM OLD THEN\n        NEW.{qcol} := {now};\n    END IF;\n    RETURN NEW;\nEND\n$zdm$;\nCREATE OR REPLACE TRIGGER {} BEFORE UPDATE ON {qtable} FOR EACH ROW EXECUTE FUNCTION {func}()",
                        quote_ident(&pg_name(&[&target_col, "on_update"]))
                    ),
                });
                warn(
                    &mut warnings,
                    Some(&c.name),
                    "ON UPDATE CURRENT_TIMESTAMP becomes a BEFORE UPDATE trigger".into(),
                );
            }
            columns.push(ColumnPlan {
                source: c.name.clone(),
                target: target_col,
                source_type: c.column_type.clone(),
                source_data_type: c.data_type.clone(),
                pg_type,
                kind,
                rule,
                nullable,
                default,
                identity,
                unsigned: c.unsigned,
                members: c.members.clone(),
                bits: (c.data_type == "bit").then_some(c.numeric_precision.unwrap_or(1)),
                length: c.char_max_length,
                charset: c.charset.clone(),
                zero_dates_to_null: is_date,
                generated: c.generated.is_some(),
            });
        }
        if unsupported {
            continue;
        }
        let col_target = |n: &str| col_names.get(n).cloned().unwrap_or_else(|| n.to_string());
        let key_list: Vec<String> = key.iter().map(|k| quote_ident(&col_target(k))).collect();
        let pk_name = pg_name(&[&target, "pkey"]);
        defs.push(format!(
            "CONSTRAINT {} PRIMARY KEY ({})",
            quote_ident(&pk_name),
            key_list.join(", ")
        ));
        let create = vec![format!(
            "CREATE TABLE {qtable} (\n    {}\n)",
            defs.join(",\n    ")
        )];
        let mut fk_plans = Vec::new();
        let mut seen_unique_key = false;
        for idx in &t.indexes {
            let same_as_key = idx.unique
                && idx
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .eq(key.iter().map(String::as_str));
            if same_as_key && t.primary_key.is_empty() && !seen_unique_key {
                // Became the primary key.
                seen_unique_key = true;
                continue;
            }
            let name = pg_name(&[&target, &idx.name.to_lowercase()]);
            let kind = idx.kind.to_ascii_uppercase();
            if kind == "SPATIAL" {
                warn(
                    &mut warnings,
                    None,
                    format!(
                        "SPATIAL index {} not created (geometry is copied as WKB bytea)",
                        idx.name
                    ),
                );
                continue;
            }
            let mut elems = Vec::new();
            for ic in &idx.columns {
                let q = quote_ident(&col_target(&ic.name));
                let is_bytes = columns
                    .iter()
                    .find(|c| c.source == ic.name)
                    .is_some_and(|c| c.kind == ValueKind::Bytea);
                match ic.sub_part {
                    Some(n) if is_bytes => elems.push(format!("(substring({q} from 1 for {n}))")),
                    Some(n) => elems.push(format!("(left({q}, {n}))")),
                    None => elems.push(q),
                }
            }
            if idx.columns.iter().any(|c| c.sub_part.is_some()) {
                warn(
                    &mut warnings,
                    None,
                    format!(
                        "prefix index {} becomes an expression index on the prefix",
                        idx.name
                    ),
                );
            }
            if kind == "FULLTEXT" {
                warn(&mut warnings, None, format!("FULLTEXT index {} becomes a GIN index on to_tsvector('simple', …); queries must use PostgreSQL's full-text operators", idx.name));
                let doc: Vec<String> = idx
                    .columns
                    .iter()
                    .map(|ic| format!("coalesce({}, '')", quote_ident(&col_target(&ic.name))))
                    .collect();
                post.push(PostStep {
                    kind: PostStepKind::Index,
                    name: idx.name.clone(),
                    sql: format!("CREATE INDEX IF NOT EXISTS {} ON {qtable} USING gin (to_tsvector('simple', {}))", quote_ident(&name), doc.join(" || ' ' || ")),
                });
                continue;
            }
            let (kind, unique) = if idx.unique {
                (PostStepKind::UniqueIndex, "UNIQUE ")
            } else {
                (PostStepKind::Index, "")
            };
            post.push(PostStep {
                kind,
                name: idx.name.clone(),
                sql: format!(
                    "CREATE {unique}INDEX IF NOT EXISTS {} ON {qtable} ({})",
                    quote_ident(&name),
                    elems.join(", ")
                ),
            });
        }
        for fk in &t.foreign_keys {
            if !selected.iter().any(|s| s.name == fk.referenced_table) {
                warn(
                    &mut warnings,
                    None,
                    format!(
                        "foreign key {} references {}, which is not moved: not created",
                        fk.name, fk.referenced_table
                    ),
                );
                continue;
            }
            let rtarget = table_names[&fk.referenced_table].clone();
            let rtable = catalog.table(&fk.referenced_table);
            let rcol_names = rtable
                .map(|rt| target_names(rt.columns.iter().map(|c| c.name.as_str())))
                .unwrap_or_default();
            let cols: Vec<String> = fk
                .columns
                .iter()
                .map(|c| quote_ident(&col_target(c)))
                .collect();
            let rcols: Vec<String> = fk
                .referenced_columns
                .iter()
                .map(|c| quote_ident(rcol_names.get(c).unwrap_or(c)))
                .collect();
            let name = pg_name(&[&fk.name.to_lowercase()]);
            let action = |a: &str| match a.to_ascii_uppercase().as_str() {
                "CASCADE" => "CASCADE",
                "SET NULL" => "SET NULL",
                "SET DEFAULT" => "SET DEFAULT",
                "RESTRICT" => "RESTRICT",
                _ => "NO ACTION",
            };
            fk_plans.push(ForeignKeyPlan {
                name: name.clone(),
                columns: fk.columns.iter().map(|c| col_target(c)).collect(),
                parent: fk.referenced_table.clone(),
                parent_columns: fk
                    .referenced_columns
                    .iter()
                    .map(|c| rcol_names.get(c).cloned().unwrap_or_else(|| c.clone()))
                    .collect(),
                on_delete: action(&fk.on_delete).to_string(),
                on_update: action(&fk.on_update).to_string(),
            });
            post.push(PostStep {
                kind: PostStepKind::ForeignKey,
                name: fk.name.clone(),
                sql: format!(
                    "ALTER TABLE {qtable} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON UPDATE {} ON DELETE {} NOT VALID",
                    quote_ident(&name),
                    cols.join(", "),
                    quote_qualified(&target_schema, &rtarget),
                    rcols.join(", "),
                    action(&fk.on_update),
                    action(&fk.on_delete)
                ),
            });
            post.push(PostStep {
                kind: PostStepKind::Validate,
                name: fk.name.clone(),
                sql: format!(
                    "ALTER TABLE {qtable} VALIDATE CONSTRAINT {}",
                    quote_ident(&name)
                ),
            });
        }
        for (name, clause) in &t.checks {
            warn(&mut warnings, None, format!("CHECK constraint {name} ({clause}) is not carried over (MySQL expression syntax)"));
        }
        let mut seen = BTreeSet::new();
        post.retain(|s| seen.insert((s.kind, s.sql.clone())));
        tables.push(TablePlan {
            source: t.name.clone(),
            target,
            columns,
            key,
            create,
            post,
            foreign_keys: fk_plans,
            rows_estimated: t.rows_estimated,
        });
    }
    MovePlan {
        source_database: catalog.database.clone(),
        source_version: catalog.version.clone(),
        target_schema,
        tables,
        warnings,
        refused,
    }
}
