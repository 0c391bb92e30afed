//! create_table: a new table is invisible to the old version, so it is created directly.

use super::columns::{column_definition, model, table_references_sql};
use crate::ident::{quote_ident, quote_literal};
use crate::operations::{CreateTable, TableConstraint};
use crate::planner::{Lock, LockMode};
use crate::planner::{Mode, PlanContext, PlanOperation, Stage};
use crate::schema::{Constraint, ConstraintKind, Table};

fn constraint_sql(ctx: &PlanContext, c: &TableConstraint) -> Result<String, String> {
    let cols = c
        .columns
        .iter()
        .map(|x| quote_ident(x))
        .collect::<Vec<_>>()
        .join(", ");
    let name = quote_ident(&c.name);
    let mut s = match c.constraint_type.as_str() {
        "primary_key" => format!("CONSTRAINT {name} PRIMARY KEY ({cols})"),
        "unique" => {
            let nnd = if c.nulls_not_distinct {
                " NULLS NOT DISTINCT"
            } else {
                ""
            };
            format!("CONSTRAINT {name} UNIQUE{nnd} ({cols})")
        }
        "check" => {
            let expr = c
                .check
                .as_deref()
                .ok_or("a check constraint needs `check`")?;
            let ni = if c.no_inherit { " NO INHERIT" } else { "" };
            format!("CONSTRAINT {name} CHECK ({expr}){ni}")
        }
        "foreign_key" => {
            let r = c
                .references
                .as_ref()
                .ok_or("a foreign key needs `references`")?;
            format!(
                "CONSTRAINT {name} FOREIGN KEY ({cols}) {}",
                table_references_sql(&ctx.resolve_table_fk(r)?)
            )
        }
        "exclude" => {
            let x = c
                .exclude
                .as_ref()
                .ok_or("an exclusion constraint needs `exclude`")?;
            let method = x
                .index_method
                .as_deref()
                .filter(|m| !m.is_empty())
                .unwrap_or("btree");
            let mut s = format!(
                "CONSTRAINT {name} EXCLUDE USING {method} ({})",
                x.elements.as_deref().unwrap_or("")
            );
            if let Some(p) = x.predicate.as_deref().filter(|p| !p.is_empty()) {
                s.push_str(&format!(" WHERE ({p})"));
            }
            s
        }
        other => return Err(format!("unknown constraint type `{other}`")),
    };
    if let Some(p) = &c.index_parameters {
        if let Some(inc) = &p.include_columns {
            s.push_str(&format!(
                " INCLUDE ({})",
                inc.iter()
                    .map(|x| quote_ident(x))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(sp) = p.storage_parameters.as_deref().filter(|x| !x.is_empty()) {
            s.push_str(&format!(" WITH ({sp})"));
        }
        if let Some(ts) = p.tablespace.as_deref().filter(|x| !x.is_empty()) {
            s.push_str(&format!(" USING INDEX TABLESPACE {}", quote_ident(ts)));
        }
    }
    if c.deferrable {
        s.push_str(" DEFERRABLE");
        if c.initially_deferred {
            s.push_str(" INITIALLY DEFERRED");
        }
    }
    Ok(s)
}

impl PlanOperation for CreateTable {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        if ctx.new.table(&self.name).is_some() {
            return Err(format!("table `{}` already exists", self.name));
        }
        // Under a helper name while a table this migration drops still holds the name.
        let physical = ctx.free_table_name(&self.name);
        let qt = ctx.qt(&physical);
        let pk: Vec<String> = self
            .columns
            .iter()
            .filter(|c| c.pk)
            .map(|c| c.name.clone())
            .collect();
        let mut parts: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                let mut c = c.clone();
                match &mut c.references {
                    // A key to the table being created: under the name it is created with.
                    Some(r) if r.table == self.name => r.table = physical.clone(),
                    Some(r) => *r = ctx.resolve_fk(r)?,
                    None => {}
                }
                Ok(column_definition(&c, !c.nullable && !c.pk))
            })
            .collect::<Result<_, String>>()?;
        if !pk.is_empty() {
            parts.push(format!(
                "PRIMARY KEY ({})",
                pk.iter()
                    .map(|c| quote_ident(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for c in &self.constraints {
            parts.push(constraint_sql(ctx, c)?);
        }
        ctx.start(
            Stage::Expand,
            Mode::Transaction,
            format!("CREATE TABLE {qt} ({})", parts.join(", ")),
            Lock::new(
                LockMode::None,
                "the table is new (a foreign key briefly locks the referenced table)",
            ),
        );
        if let Some(comment) = &self.comment {
            ctx.start(
                Stage::Expand,
                Mode::Transaction,
                format!("COMMENT ON TABLE {qt} IS {}", quote_literal(comment)),
                Lock::none(),
            );
        }
        for c in self.columns.iter().filter(|c| c.comment.is_some()) {
            ctx.start(
                Stage::Expand,
                Mode::Transaction,
                format!(
                    "COMMENT ON COLUMN {qt}.{} IS {}",
                    quote_ident(&c.name),
                    quote_literal(c.comment.as_deref().unwrap_or(""))
                ),
                Lock::none(),
            );
        }
        ctx.rollback(
            Stage::Undo,
            Mode::Transaction,
            // CASCADE: foreign keys from other tables this migration creates or changes go with
            // it (whatever order the undo meets them in); nothing older can depend on it.
            format!("DROP TABLE IF EXISTS {qt} CASCADE"),
            Lock::new(LockMode::AccessExclusive, "the new table"),
        );
        let mut pk_all = pk;
        if let Some(p) = self
            .constraints
            .iter()
            .find(|c| c.constraint_type == "primary_key")
        {
            pk_all = p.columns.clone();
        }
        let mut columns: Vec<_> = self.columns.iter().map(model).collect();
        for c in columns.iter_mut().filter(|c| pk_all.contains(&c.name)) {
            c.nullable = false;
        }
        let constraints = self
            .constraints
            .iter()
            .map(|c| Constraint {
                name: c.name.clone(),
                kind: match c.constraint_type.as_str() {
                    "primary_key" => ConstraintKind::PrimaryKey,
                    "unique" => ConstraintKind::Unique,
                    "check" => ConstraintKind::Check,
                    "foreign_key" => ConstraintKind::ForeignKey,
                    _ => ConstraintKind::Exclusion,
                },
                columns: c.columns.clone(),
                definition: String::new(),
                validated: true,
                references: c
                    .references
                    .as_ref()
                    .map(|r| (r.table.clone(), r.columns.clone())),
            })
            .collect();
        ctx.new.tables.insert(
            self.name.clone(),
            Table {
                name: self.name.clone(),
                physical,
                columns,
                primary_key: pk_all,
                indexes: Vec::new(),
                constraints,
                comment: self.comment.clone(),
            },
        );
        ctx.created.insert(self.name.clone());
        Ok(())
    }
}
