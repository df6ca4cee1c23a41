//! Versions of a day and the audit results recorded with them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One audit check's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "check": "rows per minute", "severity": "fail", "passed": false,
    "detail": "1,440 of 1,440 minutes hold 1 row, expected 1,914"
}))]
pub struct AuditFinding {
    /// The check's name.
    pub check: String,
    /// `fail`: a failed check refuses the load; `warn`: it is recorded, the load publishes.
    pub severity: AuditSeverity,
    pub passed: bool,
    /// What was measured, with the numbers.
    pub detail: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuditSeverity {
    Fail,
    Warn,
}

impl From<loader::AuditResult> for AuditFinding {
    fn from(result: loader::AuditResult) -> Self {
        Self {
            check: result.check,
            severity: match result.severity {
                loader::Severity::Fail => AuditSeverity::Fail,
                loader::Severity::Warn => AuditSeverity::Warn,
            },
            passed: result.passed,
            detail: result.detail,
        }
    }
}

/// A version of a day: the current one, or a kept one a rollback can swap back in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "version": 2, "current": true, "job_id": "0193a0c4-5a4e-7cc1-9d7e-2f0c1f6f3b11",
    "loaded_at": "2026-11-25T10:00:02.510000Z", "replaced_at": null,
    "rows": 2756160, "files": 1440, "source_bytes": 96468480, "disk_bytes": 262979584,
    "audits": [{"check": "rows per minute", "severity": "fail", "passed": true,
                "detail": "1,440 of 1,440 minutes hold 1,914 rows"}]
}))]
pub struct DayVersion {
    /// Numbered from 1 per day, never reused.
    pub version: i32,
    /// Readers see this version now.
    pub current: bool,
    /// The job that loaded its rows (null when the loader's command line did).
    pub job_id: Option<Uuid>,
    pub loaded_at: DateTime<Utc>,
    /// When it stopped being current; null for the current version.
    pub replaced_at: Option<DateTime<Utc>>,
    pub rows: i64,
    /// Minute files it was loaded from.
    pub files: i32,
    /// Bytes of Parquet it was loaded from.
    pub source_bytes: i64,
    /// What its tables take in the database.
    pub disk_bytes: i64,
    /// The audit of its load (warnings included).
    pub audits: Vec<AuditFinding>,
}

impl From<loader::DayVersion> for DayVersion {
    fn from(v: loader::DayVersion) -> Self {
        Self {
            version: v.version,
            current: v.current,
            job_id: v.job_id,
            loaded_at: v.loaded_at,
            replaced_at: v.replaced_at,
            rows: v.rows,
            files: v.files,
            source_bytes: v.bytes,
            disk_bytes: v.disk_bytes,
            audits: v.audits.into_iter().map(AuditFinding::from).collect(),
        }
    }
}
