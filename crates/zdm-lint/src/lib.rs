//! zdm lint
