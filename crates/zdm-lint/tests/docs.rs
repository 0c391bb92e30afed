//! `docs/lint/*.md` are rendered from the rule metadata; this test keeps them current.
//! Run with `ZDM_UPDATE_DOCS=1` to rewrite them.

use std::path::PathBuf;

#[test]
fn rule_pages_are_current() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/lint");
    let update = std::env::var_os("ZDM_UPDATE_DOCS").is_some();
    let mut pages: Vec<(String, String)> = Vec::new();
    let mut ids: Vec<&str> = zdm_lint::rules().iter().map(|r| r.id).collect();
    ids.dedup();
    ids.sort();
    ids.dedup();
    for id in ids {
        pages.push((format!("{id}.md"), zdm_lint::rule_doc(id).expect("doc")));
    }
    pages.push(("README.md".into(), zdm_lint::rules_index()));
    let mut stale = Vec::new();
    for (name, body) in &pages {
        let path = dir.join(name);
        if update {
            std::fs::create_dir_all(&dir).expect("mkdir");
            std::fs::write(&path, body).expect("write");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(body.as_str()) {
            stale.push(name.clone());
        }
    }
    assert!(
        stale.is_empty(),
        "stale docs (run with ZDM_UPDATE_DOCS=1): {stale:?}"
    );
}
