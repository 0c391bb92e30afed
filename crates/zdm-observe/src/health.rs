//! `/healthz` and `/readyz`: verdicts over the latest snapshot, with the reasons as JSON.

use crate::snapshot::Snapshot;
use serde_json::json;
use std::time::Duration;

/// What makes `/readyz` answer 503.
#[derive(Debug, Clone)]
pub struct ReadyPolicy {
    /// A failed migration or move makes the process unready.
    pub unready_on_failed: bool,
    /// A following move lagging more than this makes it unready (`None`: lag never does).
    pub max_lag: Option<Duration>,
}

impl Default for ReadyPolicy {
    fn default() -> Self {
        ReadyPolicy {
            unready_on_failed: true,
            max_lag: Some(Duration::from_secs(30)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Verdict {
    pub ok: bool,
    pub body: serde_json::Value,
}

/// Why the process is not alive: the latest read failed, or is older than `stale_after`.
fn liveness_reasons(s: &Snapshot, age: Duration, stale_after: Duration) -> Vec<String> {
    let mut reasons = Vec::new();
    if !s.ledger_up {
        reasons.push(format!(
            "the database does not answer: {}",
            s.error.as_deref().unwrap_or("unknown error")
        ));
    }
    if age > stale_after {
        reasons.push(format!(
            "the last successful read is {:.0} s old",
            age.as_secs_f64()
        ));
    }
    reasons
}

/// Alive while the database answers: the latest read succeeded and is recent (`age` since it
/// was taken, `stale_after` the limit).
pub fn liveness(s: &Snapshot, age: Duration, stale_after: Duration) -> Verdict {
    let reasons = liveness_reasons(s, age, stale_after);
    Verdict {
        ok: reasons.is_empty(),
        body: json!({
            "status": if reasons.is_empty() { "ok" } else { "unhealthy" },
            "reasons": reasons,
            "read_at": s.generated_at,
        }),
    }
}

pub fn readiness(s: &Snapshot, age: Duration, stale_after: Duration, p: &ReadyPolicy) -> Verdict {
    let mut reasons = liveness_reasons(s, age, stale_after);
    if p.unready_on_failed {
        for m in s.status.iter().flat_map(|r| &r.migrations) {
            if m.state == zdm_core::state::MigrationState::Failed {
                reasons.push(format!(
                    "migration {} failed in {}",
                    m.id,
                    m.failed_phase.as_deref().unwrap_or("?")
                ));
            }
        }
        for m in &s.moves {
            if m.report.phase == zdm_move::job::JobPhase::Failed {
                reasons.push(format!("move {} failed", m.report.job));
            }
        }
    }
    if let Some(max) = p.max_lag {
        for m in &s.moves {
            if let Some(lag) = m.report.lag_seconds.filter(|l| *l > max.as_secs_f64()) {
                reasons.push(format!(
                    "move {} lags {lag:.1} s (more than {} s)",
                    m.report.job,
                    max.as_secs_f64()
                ));
            }
        }
    }
    Verdict {
        ok: reasons.is_empty(),
        body: json!({
            "status": if reasons.is_empty() { "ready" } else { "unready" },
            "reasons": reasons,
            "health": s.health,
            "max_lag_seconds": s.max_lag(),
        }),
    }
}
