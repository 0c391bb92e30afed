//! create_constraint: on a new table it is added directly; on an existing one its columns are
//! duplicated (with the per-column `up`/`down`) and the constraint is built on the duplicates —
//! NOT VALID or via a concurrent index — so it binds only the new version until complete.

use super::columns::table_references_sql;
use super::duplicate::{duplicate_column, Change};
use crate::ident::quote_ident;
use crate::operations::CreateConstraint;
use crate::planner::context::truncate63;
use crate::planner::{Lock, LockMode};
use crate::planner::{Mode, PlanContext, PlanOperation, Stage};
use crate::schema::{Constraint, ConstraintKind};

impl PlanOperation for CreateConstraint {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        let t = ctx.table(&self.table)?.clone();
        if t.constraint(&self.name).is_some() {
            return Err(format!(
                "constraint `{}` already exists on table `{}`",
                self.name, self.table
            ));
        }
        for c in &self.columns {
            t.require_column(c)?;
        }
        let qt = ctx.qt(&t.physical);
        let name = quote_ident(&self.name);
        let lock = ctx.brief_exclusive(&t.physical);
        let validate_lock = ctx.non_blocking(&t.physical);
        let kind = match self.constraint_type.as_str() {
            "primary_key" => ConstraintKind::PrimaryKey,
            "unique" => ConstraintKind::Unique,
            "check" => ConstraintKind::Check,
            _ => ConstraintKind::ForeignKey,
        };
        if ctx.created.contains(&self.table) {
            let cols = self
                .columns
                .iter()
                .map(|c| t.physical_column(c).map(|p| quote_ident(&p)))
                .collect::<Result<Vec<_>, _>>()?
                .join(", ");
            let body = match kind {
                ConstraintKind::PrimaryKey => format!("PRIMARY KEY ({cols})"),
                ConstraintKind::Unique => format!("UNIQUE ({cols})"),
                ConstraintKind::Check => format!(
                    "CHECK ({})",
                    t.physical_expr(self.check.as_deref().unwrap_or("true"))
                ),
                _ => format!(
                    "FOREIGN KEY ({cols}) {}",
                    table_references_sql(
                        &ctx.resolve_table_fk(
                            self.references
                                .as_ref()
                                .ok_or("a foreign key needs `references`")?
                        )?
                    )
                ),
            };
            ctx.start(
                Stage::Expand,
                Mode::Transaction,
                format!("ALTER TABLE {qt} ADD CONSTRAINT {name} {body}"),
                Lock::new(LockMode::None, "the table is new"),
            );
        } else {
            let mut temps = Vec::new();
            for c in &self.columns {
                if ctx.added_column(&self.table, c) {
                    // New to this migration: the old version never writes it.
                    temps.push(t.physical_column(c)?);
                    continue;
                }
                let change = Change {
                    nullable: if kind == ConstraintKind::PrimaryKey {
                        Some(false)
                    } else {
                        None
                    },
                    up: self.up.get(c).map(String::as_str),
                    down: self.down.get(c).map(String::as_str),
                    ..Default::default()
                };
                temps.push(duplicate_column(ctx, &self.table, c, &change)?.temp);
            }
            let tcols = temps
                .iter()
                .map(|c| quote_ident(c))
                .collect::<Vec<_>>()
                .join(", ");
            match kind {
                ConstraintKind::PrimaryKey | ConstraintKind::Unique => {
                    // As in pgroll the index carries the constraint's name from the start (and
                    // becomes the constraint's index at complete); the name must be free.
                    if let Some(other) = ctx
                        .new
                        .tables
                        .values()
                        .find(|t| t.indexes.iter().any(|i| i.name == self.name))
                    {
                        return Err(format!("an index named `{}` already exists (on `{}`): PostgreSQL index names are unique per schema", self.name, other.name));
                    }
                    let idx = truncate63(self.name.clone());
                    ctx.start(
                        Stage::ExpandConcurrently,
                        Mode::NoTransaction,
                        format!(
                            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {} ON {qt} ({tcols})",
                            quote_ident(&idx)
                        ),
                        validate_lock,
                    );
                    let what = if kind == ConstraintKind::PrimaryKey {
                        "PRIMARY KEY"
                    } else {
                        "UNIQUE"
                    };
                    ctx.complete(
                        Stage::Contract,
                        Mode::Transaction,
                        format!(
                            "ALTER TABLE {qt} ADD CONSTRAINT {name} {what} USING INDEX {}",
                            quote_ident(&idx)
                        ),
                        lock,
                    );
                }
                ConstraintKind::Check => {
                    let expr = ctx
                        .table(&self.table)?
                        .physical_expr(self.check.as_deref().unwrap_or("true"));
                    ctx.constraint_not_valid(
                        &t.physical,
                        &self.name,
                        &format!("CHECK ({expr})"),
                        lock,
                        true,
                    );
                }
                _ => {
                    let r = self
                        .references
                        .as_ref()
                        .ok_or("a foreign key needs `references`")?;
                    let lock = lock.and(format!("SHARE ROW EXCLUSIVE on {} (brief)", r.table));
                    let body = format!(
                        "FOREIGN KEY ({tcols}) {}",
                        table_references_sql(&ctx.resolve_table_fk(r)?)
                    );
                    ctx.constraint_not_valid(&t.physical, &self.name, &body, lock, true);
                }
            }
        }
        let table = ctx.table_mut(&self.table)?;
        let physical = self
            .columns
            .iter()
            .map(|c| table.physical_column(c))
            .collect::<Result<Vec<_>, _>>()?;
        if kind == ConstraintKind::PrimaryKey {
            table.primary_key = physical.clone();
        }
        table.constraints.push(Constraint {
            name: self.name.clone(),
            kind,
            columns: physical,
            definition: String::new(),
            validated: true,
            references: self
                .references
                .as_ref()
                .map(|r| (r.table.clone(), r.columns.clone())),
        });
        Ok(())
    }
}
