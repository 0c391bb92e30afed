use crate::rules::RuleInfo;
pub(crate) type Check = fn();
pub(crate) static RULES: &[(&RuleInfo, Check)] = &[];
