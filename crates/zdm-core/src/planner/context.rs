//! The planning state the operations write into, and the assembly of the final [`Plan`].

use super::triggers::{self, DualWrite};
use super::{Backfill, Mode, Plan, PlanError, PlanOperation, Stage, Step, Target};
use crate::ident::{quote_ident, quote_qualified};
use crate::planner::{Lock, LockMode};
use crate::schema::{Schema, Table};

/// Name of the helper column that holds a column's new version while a migration is in flight.
pub fn temp_column(name: &str) -> String {
    truncate63(format!("_zdm_new_{name}"))
}

pub(crate) fn truncate63(mut s: String) -> String {
    while s.len() > 63 {
        s.pop();
    }
    s
}

pub struct PlanContext {
    pub target: Target,
    /// The schema before the migration (what the old version sees).
    pub old: Schema,
    /// The schema as the new version sees it, updated operation by operation.
    pub new: Schema,
    steps_start: Vec<Step>,
    steps_complete: Vec<Step>,
    steps_rollback: Vec<Step>,
    pub(crate) dual_writes: Vec<DualWrite>,
    backfills: Vec<Backfill>,
    /// Tables created by this migration: nothing reads them yet, so they change directly.
    pub created: std::collections::BTreeSet<String>,
    pub(crate) duplicated: Vec<super::ops::duplicate::DuplicatedColumn>,
    /// What became of the constraints the migration found: (physical table, name before the
    /// migration) → its name now, or `None` once dropped. Constraints rebuilt for duplicated
    /// columns take their final name from here.
    pub(crate) constraint_fates: std::collections::BTreeMap<(String, String), Option<String>>,
    /// Set by SQL that runs at complete (see [`Plan::refresh_views_at_complete`]).
    pub refresh_views_at_complete: bool,
}

impl PlanContext {
    pub fn new(target: Target, current: Schema) -> Self {
        PlanContext {
            target,
            old: current.clone(),
            new: current,
            steps_start: Vec::new(),
            steps_complete: Vec::new(),
            steps_rollback: Vec::new(),
            dual_writes: Vec::new(),
            backfills: Vec::new(),
            created: Default::default(),
            duplicated: Vec::new(),
            constraint_fates: Default::default(),
            refresh_views_at_complete: false,
        }
    }

    /// The constraint the table had before the migration under the name it has now.
    fn constraint_origin(&self, physical: &str, now: &str) -> String {
        self.constraint_fates
            .iter()
            .find(|((t, _), fate)| t == physical && fate.as_deref() == Some(now))
            .map(|((_, was), _)| was.clone())
            .unwrap_or_else(|| now.to_string())
    }

    /// A constraint renamed by an operation (names as they are before and after it).
    pub(crate) fn constraint_renamed(&mut self, physical: &str, from: &str, to: &str) {
        let was = self.constraint_origin(physical, from);
        self.constraint_fates
            .insert((physical.to_string(), was), Some(to.to_string()));
    }

    /// A constraint dropped by an operation (by its name at that point).
    pub(crate) fn constraint_dropped(&mut self, physical: &str, name: &str) {
        let was = self.constraint_origin(physical, name);
        self.constraint_fates
            .insert((physical.to_string(), was), None);
    }

    /// The final name of a constraint the table had before the migration; `None` if dropped.
    pub(crate) fn constraint_final_name(&self, physical: &str, was: &str) -> Option<String> {
        match self
            .constraint_fates
            .get(&(physical.to_string(), was.to_string()))
        {
            Some(fate) => fate.clone(),
            None => Some(was.to_string()),
        }
    }

    /// Quoted `schema.table` of a physical table.
    pub fn qt(&self, physical: &str) -> String {
        quote_qualified(&self.target.schema, physical)
    }

    pub fn q(&self, name: &str) -> String {
        quote_ident(name)
    }

    pub fn table(&self, logical: &str) -> Result<&Table, String> {
        self.new
            .table(logical)
            .ok_or_else(|| format!("table `{logical}` does not exist"))
    }

    pub fn table_mut(&mut self, logical: &str) -> Result<&mut Table, String> {
        self.new
            .tables
            .get_mut(logical)
            .ok_or_else(|| format!("table `{logical}` does not exist"))
    }

    pub fn start(&mut self, stage: Stage, mode: Mode, sql: impl Into<String>, lock: Lock) {
        self.steps_start.push(Step {
            stage,
            mode,
            sql: sql.into(),
            lock,
        });
    }

    /// How many start steps are planned so far (the index the next one gets).
    pub(crate) fn start_steps(&self) -> usize {
        self.steps_start.len()
    }

    pub(crate) fn rewrite_start_step(&mut self, index: usize, sql: String) {
        self.steps_start[index].sql = sql;
    }

    pub fn complete(&mut self, stage: Stage, mode: Mode, sql: impl Into<String>, lock: Lock) {
        self.steps_complete.push(Step {
            stage,
            mode,
            sql: sql.into(),
            lock,
        });
    }

    pub fn rollback(&mut self, stage: Stage, mode: Mode, sql: impl Into<String>, lock: Lock) {
        self.steps_rollback.push(Step {
            stage,
            mode,
            sql: sql.into(),
            lock,
        });
    }

    /// Describe a brief ACCESS EXCLUSIVE lock on a table, the common case for catalog-only DDL.
    pub fn brief_exclusive(&self, physical: &str) -> Lock {
        Lock::new(
            LockMode::AccessExclusive,
            format!("{}.{physical} (catalog only, brief)", self.target.schema),
        )
    }

    /// The lock VALIDATE CONSTRAINT and CREATE INDEX CONCURRENTLY take.
    pub fn non_blocking(&self, physical: &str) -> Lock {
        Lock::new(
            LockMode::ShareUpdateExclusive,
            format!(
                "{}.{physical} (reads and writes continue)",
                self.target.schema
            ),
        )
    }

    /// `ADD CONSTRAINT name body NOT VALID` at start (it binds new writes only) and, when
    /// `validate`, `VALIDATE CONSTRAINT` at complete (no write lock).
    pub fn constraint_not_valid(
        &mut self,
        physical: &str,
        name: &str,
        body: &str,
        lock: Lock,
        validate: bool,
    ) {
        let qt = self.qt(physical);
        let qn = quote_ident(name);
        self.start(
            Stage::Expand,
            Mode::Transaction,
            format!("ALTER TABLE {qt} ADD CONSTRAINT {qn} {body} NOT VALID"),
            lock,
        );
        if validate {
            let lock = self.non_blocking(physical);
            self.complete(
                Stage::Validate,
                Mode::OwnTransaction,
                format!("ALTER TABLE {qt} VALIDATE CONSTRAINT {qn}"),
                lock,
            );
        }
    }

    /// NOT NULL on `column` without a long lock: a `CHECK (checked IS NOT NULL) NOT VALID` at start
    /// (`checked` is the column's name at start), validated at complete, then `SET NOT NULL` (no
    /// scan: the validated check proves it) and the check dropped.
    pub fn not_null_at_complete(&mut self, physical: &str, checked: &str, column: &str) {
        let name = truncate63(format!(
            "_zdm_nn_{}_{column}",
            super::triggers::migration_tag(&format!("{physical}.{column}"))
        ));
        let lock = self.brief_exclusive(physical);
        self.constraint_not_valid(
            physical,
            &name,
            &format!("CHECK ({} IS NOT NULL)", quote_ident(checked)),
            lock.clone(),
            true,
        );
        let qt = self.qt(physical);
        self.complete(
            Stage::Contract,
            Mode::Transaction,
            format!(
                "ALTER TABLE {qt} ALTER COLUMN {} SET NOT NULL",
                quote_ident(column)
            ),
            lock.and("no scan: the validated CHECK proves it"),
        );
        self.complete(
            Stage::Contract,
            Mode::Transaction,
            format!("ALTER TABLE {qt} DROP CONSTRAINT {}", quote_ident(&name)),
            lock,
        );
    }

    pub fn dual_write(&mut self, dw: DualWrite) {
        self.dual_writes.push(dw);
    }

    pub fn backfill(&mut self, physical: &str, key: Option<Vec<String>>) {
        if !self.backfills.iter().any(|b| b.table == physical) {
            self.backfills.push(Backfill {
                table: physical.to_string(),
                key,
                set: Vec::new(),
            });
        }
    }

    /// Whether `column` (logical) of existing table `table` is added by this migration: the old
    /// version never writes it, so constraints on it need no duplicate.
    pub fn added_column(&self, table: &str, column: &str) -> bool {
        let Ok(t) = self.table(table) else {
            return false;
        };
        let Some(c) = t.column(column) else {
            return false;
        };
        !self.created.contains(table)
            && !self.old.tables.values().any(|o| {
                o.physical == t.physical && o.columns.iter().any(|oc| oc.physical == c.physical)
            })
            && !self.duplicated.iter().any(|d| d.temp == c.physical)
    }

    /// The physical table and columns a foreign key of this migration references, given by
    /// their names in the new version. A column this migration duplicates cannot be referenced
    /// yet (the key would pin the column the contract drops); a table it drops cannot at all.
    pub fn fk_target(
        &self,
        table: &str,
        columns: &[String],
    ) -> Result<(String, Vec<String>), String> {
        let Some(t) = self.new.table(table) else {
            if self.old.table(table).is_some() {
                return Err(format!("table `{table}` is dropped or renamed by an earlier operation of this migration"));
            }
            // Not a table of this schema as zdm knows it: left to PostgreSQL as written.
            return Ok((table.to_string(), columns.to_vec()));
        };
        let mut physical = Vec::new();
        for c in columns {
            let col = t.require_column(c)?;
            if self.duplicated.iter().any(|d| d.temp == col.physical) {
                return Err(format!("column `{table}.{c}` is changed by an earlier operation of this migration: reference it in a later migration"));
            }
            physical.push(col.physical.clone());
        }
        Ok((t.physical.clone(), physical))
    }

    pub fn resolve_fk(
        &self,
        r: &crate::operations::ForeignKeyReference,
    ) -> Result<crate::operations::ForeignKeyReference, String> {
        let (table, cols) = self.fk_target(&r.table, std::slice::from_ref(&r.column))?;
        let mut out = r.clone();
        out.table = table;
        out.column = cols.into_iter().next().unwrap_or_default();
        Ok(out)
    }

    pub fn resolve_table_fk(
        &self,
        r: &crate::operations::TableForeignKeyReference,
    ) -> Result<crate::operations::TableForeignKeyReference, String> {
        let (table, columns) = self.fk_target(&r.table, &r.columns)?;
        let mut out = r.clone();
        out.table = table;
        out.columns = columns;
        Ok(out)
    }

    /// A physical name for a table this migration creates as `name`: its own, unless a table
    /// of that name exists until complete (dropped by this migration), then a helper name that
    /// complete settles.
    pub fn free_table_name(&self, name: &str) -> String {
        let taken = |n: &str| {
            self.old.tables.values().any(|t| t.physical == n)
                || self.new.tables.values().any(|t| t.physical == n)
        };
        if !taken(name) {
            return name.to_string();
        }
        truncate63(format!("_zdm_new_{name}"))
    }

    /// A physical name for a column this migration adds to `table` (logical) as `name`: its
    /// own, unless the table still holds a column of that name until complete.
    pub fn free_column_name(&self, table: &str, name: &str) -> Result<String, String> {
        let t = self.table(table)?;
        let old = self.old.tables.values().find(|o| o.physical == t.physical);
        let taken = |n: &str| {
            t.columns.iter().any(|c| c.physical == n)
                || old.is_some_and(|o| o.columns.iter().any(|c| c.physical == n))
        };
        if !taken(name) {
            return Ok(name.to_string());
        }
        Ok(truncate63(format!("_zdm_add_{name}")))
    }

    /// Plan every operation, then add the dual-write triggers and the version-schema steps.
    pub fn plan_all(
        mut self,
        ops: &[(&'static str, &dyn PlanOperation)],
    ) -> Result<Plan, PlanError> {
        for (index, (op, operation)) in ops.iter().enumerate() {
            operation
                .plan(&mut self)
                .map_err(|message| PlanError { index, op, message })?;
        }
        Ok(self.finish())
    }

    fn finish(mut self) -> Plan {
        // The rebuilt constraints and indexes are contract statements on the physical names as
        // they are during the expand: they go before the names settle.
        super::ops::duplicate::rebuild_dependents(&mut self);
        super::settle::settle_names(&mut self);
        let mapping = super::settle::mapping(&self);
        let sets: Vec<Vec<String>> = self
            .backfills
            .iter()
            .map(|b| triggers::backfill_assignments(&self, &b.table))
            .collect();
        for (b, set) in self.backfills.iter_mut().zip(sets) {
            b.set = set;
        }
        let trig = triggers::plan(&self);
        // Helper columns and their triggers appear in the same (expand) transaction; at complete
        // and rollback the triggers go first, before any column they read is dropped.
        self.steps_start.extend(trig.create);
        let mut complete = Vec::new();
        if let Some(prev) = &self.target.previous_version_schema {
            complete.push(Step {
                stage: Stage::Contract,
                mode: Mode::Transaction,
                sql: format!("DROP SCHEMA IF EXISTS {} CASCADE", quote_ident(prev)),
                lock: Lock::new(LockMode::AccessExclusive, format!("the views of {prev}")),
            });
        }
        complete.extend(trig.drop.iter().cloned().map(|s| Step {
            stage: Stage::Contract,
            ..s
        }));
        complete.append(&mut self.steps_complete);
        let mut rollback = vec![Step {
            stage: Stage::Unview,
            mode: Mode::Transaction,
            sql: format!(
                "DROP SCHEMA IF EXISTS {} CASCADE",
                quote_ident(&self.target.version_schema)
            ),
            lock: Lock::new(
                LockMode::AccessExclusive,
                format!("the views of {}", self.target.version_schema),
            ),
        }];
        rollback.append(&mut self.steps_rollback);
        // Undo in reverse order of doing, within each stage. The triggers go in the undo's
        // transaction, with the helper columns and NOT VALID checks they keep satisfied: dropped
        // any earlier, an old-version write would meet a check on a helper nobody fills.
        let (mut unview, rest): (Vec<Step>, Vec<Step>) =
            rollback.into_iter().partition(|s| s.stage == Stage::Unview);
        let (mut undo, mut undo_conc): (Vec<Step>, Vec<Step>) =
            rest.into_iter().partition(|s| s.stage == Stage::Undo);
        undo.reverse();
        undo_conc.reverse();
        unview.extend(trig.drop.into_iter().map(|s| Step {
            stage: Stage::Undo,
            ..s
        }));
        unview.append(&mut undo);
        unview.append(&mut undo_conc);

        let mut start = self.steps_start;
        start.sort_by_key(|s| s.stage);
        complete.sort_by_key(|s| s.stage);
        self.new.name = self.target.schema.clone();
        Plan {
            target: self.target,
            start,
            backfills: self.backfills,
            mapping,
            complete,
            rollback: unview,
            new_schema: self.new,
            refresh_views_at_complete: self.refresh_views_at_complete,
        }
    }
}
