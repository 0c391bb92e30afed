//! drop_constraint and drop_multicolumn_constraint: the constrained columns are duplicated without
//! the constraint, so the new version is free of it while the old version still obeys it; at
//! complete the old columns, and the constraint with them, go.

use super::duplicate::{duplicate_column, Change};
use crate::operations::{DropConstraint, DropMultiColumnConstraint};
use crate::planner::{PlanContext, PlanOperation};
use std::collections::BTreeMap;

fn drop_constraint(
    ctx: &mut PlanContext,
    table: &str,
    name: &str,
    up: &BTreeMap<String, String>,
    down: &BTreeMap<String, String>,
) -> Result<(), String> {
    let t = ctx.table(table)?.clone();
    let con = t
        .constraint(name)
        .ok_or_else(|| format!("constraint `{name}` does not exist on table `{table}`"))?
        .clone();
    if con.columns.is_empty() {
        return Err(format!("constraint `{name}` is on no column"));
    }
    ctx.constraint_dropped(&t.physical, name);
    for physical in &con.columns {
        // A column an earlier operation duplicated lives under its helper's name by now.
        let now = ctx
            .duplicated
            .iter()
            .find(|d| d.table == t.physical && &d.column == physical)
            .map(|d| &d.temp)
            .unwrap_or(physical);
        let logical = t
            .columns
            .iter()
            .find(|c| &c.physical == now)
            .map(|c| c.name.clone())
            .ok_or_else(|| format!("column `{physical}` not found"))?;
        let change = Change {
            up: up.get(&logical).map(String::as_str),
            down: down.get(&logical).map(String::as_str),
            without_constraint: Some(name),
            ..Default::default()
        };
        duplicate_column(ctx, table, &logical, &change)?;
    }
    Ok(())
}

impl PlanOperation for DropConstraint {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        let t = ctx.table(&self.table)?;
        let con = t.constraint(&self.name).ok_or_else(|| {
            format!(
                "constraint `{}` does not exist on table `{}`",
                self.name, self.table
            )
        })?;
        let column = t
            .columns
            .iter()
            .find(|c| con.columns.first() == Some(&c.physical))
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let one = |sql: &Option<String>| {
            sql.iter()
                .map(|s| (column.clone(), s.clone()))
                .collect::<BTreeMap<_, _>>()
        };
        drop_constraint(
            ctx,
            &self.table,
            &self.name,
            &one(&self.up),
            &one(&self.down),
        )
    }
}

impl PlanOperation for DropMultiColumnConstraint {
    fn plan(&self, ctx: &mut PlanContext) -> Result<(), String> {
        drop_constraint(ctx, &self.table, &self.name, &self.up, &self.down)
    }
}
