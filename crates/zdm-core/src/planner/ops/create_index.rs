//! create_index: built CONCURRENTLY at start (writes continue); a leftover invalid index from an
//! interrupted build is dropped first so the retry builds it afresh.

use crate::ident::{quote_ident, quote_literal};
use crate::operations::{CreateIndex, IndexColumn};
use crate::planner::{Lock, LockMode};
use crate::planner::{Mode, PlanContext, PlanOperation, Stage};
use crate::schema::Index;

impl PlanOperation for CreateIndex {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        let t = ctx.table(&self.table)?.clone();
        let schema = ctx.target.schema.clone();
        let mut elements = Vec::new();
        let mut physical_cols = Vec::new();
        for c in &self.columns {
            let col = t.require_column(c.column())?;
            physical_cols.push(col.physical.clone());
            let mut e = quote_ident(&col.physical);
            if let IndexColumn::Field(f) = c {
                if let Some(coll) = f.collate.as_deref().filter(|x| !x.is_empty()) {
                    e.push_str(&format!(" COLLATE {}", quote_ident(coll)));
                }
                if let Some(op) = f.opclass.as_ref().filter(|o| !o.name.is_empty()) {
                    e.push_str(&format!(" {}", op.name));
                    if !op.params.is_empty() {
                        e.push_str(&format!(" ({})", op.params.join(", ")));
                    }
                }
                if let Some(s) = f.sort.as_deref().filter(|x| !x.is_empty()) {
                    e.push_str(&format!(" {}", s.to_ascii_uppercase()));
                }
                if let Some(n) = f.nulls.as_deref().filter(|x| !x.is_empty()) {
                    e.push_str(&format!(" NULLS {}", n.to_ascii_uppercase()));
                }
            }
            elements.push(e);
        }
        let unique = if self.unique { "UNIQUE " } else { "" };
        let method = self
            .method
            .as_deref()
            .filter(|m| !m.is_empty())
            .unwrap_or("btree");
        let mut sql = format!(
            "CREATE {unique}INDEX CONCURRENTLY IF NOT EXISTS {} ON {} USING {method} ({})",
            quote_ident(&self.name),
            ctx.qt(&t.physical),
            elements.join(", ")
        );
        if let Some(sp) = self.storage_parameters.as_deref().filter(|x| !x.is_empty()) {
            sql.push_str(&format!(" WITH ({sp})"));
        }
        if let Some(p) = self.predicate.as_deref().filter(|x| !x.is_empty()) {
            sql.push_str(&format!(" WHERE {}", t.physical_expr(p)));
        }
        let drop_invalid = format!(
            "DO $zdm$ BEGIN IF EXISTS (SELECT FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {} AND c.relname = {} AND NOT i.indisvalid) \
             THEN EXECUTE 'DROP INDEX {}.{}'; END IF; END $zdm$",
            quote_literal(&schema),
            quote_literal(&self.name),
            quote_ident(&schema).replace('\'', "''"),
            quote_ident(&self.name).replace('\'', "''")
        );
        let lock = ctx.non_blocking(&t.physical);
        ctx.start(
            Stage::ExpandConcurrently,
            Mode::NoTransaction,
            drop_invalid,
            Lock::new(
                LockMode::AccessExclusive,
                format!(
                    "{schema}.{} (brief), only if an interrupted build left an invalid index",
                    t.physical
                ),
            ),
        );
        ctx.start(
            Stage::ExpandConcurrently,
            Mode::NoTransaction,
            sql,
            lock.clone(),
        );
        ctx.rollback(
            Stage::UndoConcurrently,
            Mode::NoTransaction,
            format!(
                "DROP INDEX CONCURRENTLY IF EXISTS {}.{}",
                quote_ident(&schema),
                quote_ident(&self.name)
            ),
            lock,
        );
        ctx.table_mut(&self.table)?.indexes.push(Index {
            name: self.name.clone(),
            columns: physical_cols,
            unique: self.unique,
            primary: false,
            definition: String::new(),
        });
        Ok(())
    }
}
