//! Renderers for findings.
