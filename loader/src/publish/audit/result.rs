//! One check's result: what the audit records with the job and the version, and what a
//! refused load's error names. (Apart from the checks, so that `error.rs` can name it
//! without importing the audit, which returns `LoadError`.)

use std::fmt;

use serde::{Deserialize, Serialize};

use super::config::Severity;

/// One check's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditResult {
    /// The check's name, e.g. `rows per minute`.
    pub check: String,
    pub severity: Severity,
    pub passed: bool,
    /// What was measured, with the numbers.
    pub detail: String,
}

impl fmt::Display for AuditResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.check, self.detail)
    }
}

impl AuditResult {
    /// A failed check of severity `fail`: the load may not publish.
    pub fn refuses(&self) -> bool {
        !self.passed && self.severity == Severity::Fail
    }
}
