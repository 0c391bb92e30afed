//! One planner per operation (`PlanOperation`), plus the mechanisms they share.

pub mod duplicate;
