//! The API's vocabulary, as types that validate when they are parsed: a handler that holds
//! a [`LoadDate`] knows it is a real calendar day.

mod day_state;
mod job;
mod load_date;
mod reprocess;
mod version;

pub use day_state::DayState;
pub use job::{Job, JobAttempt, JobError, JobProgress, JobStatus, JobTrigger};
pub use load_date::{DateRange, DateRangeError, LoadDate, LoadDateError};
pub use reprocess::{DayFacts, Loaded, Reprocess};
pub use version::{AuditFinding, AuditSeverity, DayVersion};
