//! What a successful load did, and where its time went.

use std::time::Duration;

use chrono::NaiveDate;
use serde::Serialize;

use crate::publish::audit::AuditResult;
use crate::warehouse::day::MissingMinutes;

/// Where a load's time went, in the phases [`LoadReport`] does not time already (its
/// `copy_duration` and `audit_duration` are the other two; `loader load --timings` prints
/// all seven).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct LoadPhases {
    /// Listing the day's files and checking their footers (a bucket's, with more than one
    /// stream, are read during the COPY instead).
    pub prepare: Duration,
    /// The day's lock, dropping leftovers of a dead load, the early shrink guard, creating
    /// the staging tables.
    pub setup: Duration,
    /// Building the table's indexes on the staging tables, after the COPY.
    pub indexes: Duration,
    /// The swap: every attempt, waits for readers included, up to its commit.
    pub swap: Duration,
    /// After the commit: retiring the versions beyond retention (their drop is left to
    /// the next load of the day, or to the collector).
    pub after_swap: Duration,
}

/// What a successful load did.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub date: NaiveDate,
    pub files: u64,
    pub rows: u64,
    /// Bytes of Parquet read.
    pub source_bytes: u64,
    pub elapsed: Duration,
    /// Time spent streaming rows into the staging tables.
    pub copy_duration: Duration,
    /// The swap transaction: the longest a reader of the table waited on this load.
    pub swap_duration: Duration,
    pub swap_attempts: u32,
    /// Rows the day held before, if it was loaded before.
    pub replaced_rows: Option<i64>,
    /// Minutes without a file (only when a partial day was allowed).
    pub missing_minutes: MissingMinutes,
    /// The day's version this load made current.
    pub version: i32,
    /// The audit's results (warnings included; empty when not audited).
    pub audits: Vec<AuditResult>,
    /// Time spent judging the audit's checks after the COPY (what they judge is counted
    /// during it).
    pub audit_duration: Duration,
    pub phases: LoadPhases,
}

impl LoadReport {
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}
