//! Source catalog → PostgreSQL plan: per column the type rule that decided it, per table the DDL
//! zdm creates before the copy (table + primary key) and after it (indexes, unique constraints,
//! foreign keys, triggers), and a warning for every lossy or unusual decision. Pure: reads the
//! catalog it is given, never a database. The plan is stored in the job (`zdm.move_jobs.plan`),
//! so the copy, the change stream and `zdm verify` all read the same decisions.

pub mod cast;
pub mod kind;
pub mod plan;
pub mod rules;

pub use cast::CastFile;
pub use kind::ValueKind;
pub use plan::{
    plan, ColumnPlan, ForeignKeyPlan, MovePlan, PlanOptions, PostStep, PostStepKind, TablePlan,
    Warning,
};
