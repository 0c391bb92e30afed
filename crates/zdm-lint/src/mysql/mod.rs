//! MySQL / MariaDB (stub until the tokenizer lands).
use crate::{Finding, Options, Schema};
pub(crate) fn lint(_path: &str, _text: &str, _opts: &Options, _schema: &mut Schema) -> Vec<Finding> { Vec::new() }
