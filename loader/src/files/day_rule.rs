//! When a dataset's day is whole: the rule a day's listing is judged by.

use crate::files::pattern::Cadence;

/// When a dataset's day is whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completeness {
    /// Every file the pattern's cadence calls for (1,440 minutes, 24 hours, one a day).
    All,
    /// A marker file the producer writes last in the day's folder (`_SUCCESS`).
    Marker(String),
    /// Whatever is there (at least one file): the day is settled by whoever queues it.
    Any,
}

/// How a day's files are judged: the pattern's cadence (`None`: a glob, any number of
/// parts) and the completeness rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRule {
    pub cadence: Option<Cadence>,
    pub complete: Completeness,
}

impl DayRule {
    /// The sample's: a file a minute, every minute.
    pub fn sample() -> Self {
        Self {
            cadence: Some(Cadence::Minute),
            complete: Completeness::All,
        }
    }
}
