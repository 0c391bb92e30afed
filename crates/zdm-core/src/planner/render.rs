//! The text `zdm plan` prints: per phase, every statement with the stage it runs in, whether it
//! runs in a transaction, and the lock it takes. Pure, so the planner's output can be pinned by
//! snapshot tests.

use super::{views, Mode, Plan, Stage, Step};
use std::fmt::Write;

fn steps(out: &mut String, title: &str, steps: &[&Step]) {
    let _ = writeln!(out, "== {title}");
    if steps.is_empty() {
        let _ = writeln!(out, "   (nothing)");
    }
    for s in steps {
        let mode = match s.mode {
            Mode::Transaction => "",
            Mode::OwnTransaction => " [own transaction]",
            Mode::NoTransaction => " [no transaction]",
        };
        let _ = writeln!(out, "-- {:?}{mode}; lock: {}", s.stage, s.lock);
        let _ = writeln!(out, "{};", s.sql);
    }
}

pub fn plan_text(plan: &Plan) -> String {
    let mut out = String::new();
    let before: Vec<&Step> = plan
        .start
        .iter()
        .filter(|s| s.stage < Stage::Views)
        .collect();
    steps(&mut out, "start: expand", &before);
    let _ = writeln!(out, "== start: backfill");
    if plan.backfills.is_empty() {
        let _ = writeln!(out, "   (nothing)");
    }
    for b in &plan.backfills {
        let key = b
            .key
            .as_ref()
            .map(|k| k.join(", "))
            .unwrap_or_else(|| "ctid ranges".into());
        let _ = writeln!(
            out,
            "-- {}.{} in batches by ({key}); row locks of one batch at a time",
            plan.target.schema, b.table
        );
        for set in &b.set {
            let _ = writeln!(out, "--   SET {set}");
        }
    }
    let _ = writeln!(
        out,
        "== start: version schema {} (views; computed again from the catalog after the expand)",
        plan.target.version_schema
    );
    for sql in views::preview_version_schema(&plan.target, &plan.new_schema) {
        let _ = writeln!(out, "{sql};");
    }
    steps(
        &mut out,
        "complete",
        &plan.complete.iter().collect::<Vec<_>>(),
    );
    if plan.refresh_views_at_complete {
        let _ = writeln!(
            out,
            "-- then the version schema's views are built again from the catalog"
        );
    }
    steps(
        &mut out,
        "rollback",
        &plan.rollback.iter().collect::<Vec<_>>(),
    );
    out
}
