//! Renderers for findings. Every renderer is linear in the number of findings: line starts
//! are computed once per file and looked up by binary search.

mod github;
mod human;
mod json;
mod sarif;

pub use github::render as github;
pub use human::render as human;
pub use json::render as json;
pub use sarif::render as sarif;

/// The text of each file findings point into, for snippets (`human`).
pub trait Sources {
    fn text(&self, file: &str) -> Option<&str>;
}

impl Sources for std::collections::HashMap<String, String> {
    fn text(&self, file: &str) -> Option<&str> {
        self.get(file).map(String::as_str)
    }
}

impl Sources for std::collections::BTreeMap<String, String> {
    fn text(&self, file: &str) -> Option<&str> {
        self.get(file).map(String::as_str)
    }
}

/// No sources: snippets are left out.
pub struct NoSources;

impl Sources for NoSources {
    fn text(&self, _: &str) -> Option<&str> {
        None
    }
}
