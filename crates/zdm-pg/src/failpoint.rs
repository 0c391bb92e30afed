//! Fault injection at checkpoint boundaries, compiled in for tests only (feature `failpoints`).
//! A test names a point and how many times to pass it in `ZDM_FAILPOINTS` (the `fail` crate's
//! syntax: `start.group_done=2*off->return`); reaching it then aborts the process, which is what
//! kill -9 does: no destructor runs, the connections drop, nothing is flushed.

/// Call at startup; keeps the configured failpoints for the life of the process.
#[cfg(feature = "failpoints")]
pub fn setup() -> Option<fail::FailScenario<'static>> {
    let spec = std::env::var("ZDM_FAILPOINTS").ok()?;
    let scenario = fail::FailScenario::setup();
    for entry in spec.split(';').filter(|e| !e.trim().is_empty()) {
        if let Some((name, actions)) = entry.split_once('=') {
            fail::cfg(name.trim(), actions.trim()).expect("valid ZDM_FAILPOINTS");
        }
    }
    Some(scenario)
}

#[cfg(not(feature = "failpoints"))]
pub fn setup() -> Option<()> {
    None
}

/// A point where a crash must leave the database as before or resumable.
#[cfg(feature = "failpoints")]
pub fn hit(name: &str) {
    if fail::eval(name, |_| ()).is_some() {
        eprintln!("zdm: failpoint {name}: aborting");
        std::process::abort();
    }
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) {}
