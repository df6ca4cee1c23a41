//! Where a day stands, from its files, its load record and its latest job: the one word
//! `GET /days` answers per day.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{DayFacts, JobStatus};
use crate::ledger::view::LiveDay;

/// A day's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DayState {
    /// No minute file, never loaded.
    Empty,
    /// Some of its 1,440 minute files, not loaded.
    Arriving,
    /// All 1,440 minute files (a dataset's: all its files, or any with `complete = "any"`),
    /// not loaded.
    Complete,
    /// Loaded from its files as they are now.
    Loaded,
    /// Not loaded whole yet; the minutes that have arrived are queryable, each appended
    /// as it landed (`LIVE=on`).
    Live,
    /// Loaded from fewer than 1,440 files (allowed explicitly), files unchanged since.
    Partial,
    /// Loaded, but its files differ from the load (count, size, or modified since); or a
    /// live minute was rewritten with other content (or removed) after it was appended.
    Changed,
    /// Its latest job failed (an earlier load, if any, is still in place).
    Failed,
}

impl DayState {
    /// The state of a day of the sample; `missing_at_load` says whether its load lacked
    /// minutes, `live` what of it was appended live.
    pub fn of(day: &DayFacts, missing_at_load: bool, live: LiveDay) -> Self {
        Self::of_dataset(day, missing_at_load, live, Some(loader::MINUTES_PER_DAY))
    }

    /// [`of`](Self::of) for any dataset: `whole_at` is the number of files that makes its
    /// day whole (1,440 minutes, 24 hours, one; one for `complete = "any"`), `None` when
    /// a count cannot say (a marker file does, and it is not there yet): such a day is
    /// `arriving` until its marker comes.
    /// Whether a day in this state is late once past due: not loaded, its latest job
    /// failed, or loaded without some of its files. (A `changed` day is loaded; its
    /// reload is queued.)
    pub fn late_once_due(self) -> bool {
        !matches!(self, Self::Loaded | Self::Changed)
    }

    pub fn of_dataset(
        day: &DayFacts,
        missing_at_load: bool,
        live: LiveDay,
        whole_at: Option<usize>,
    ) -> Self {
        if day.last_job == Some(JobStatus::Failed) {
            return Self::Failed;
        }
        match day.loaded {
            Some(loaded) if loaded.differs_from(&day.files) => Self::Changed,
            Some(_) if missing_at_load => Self::Partial,
            Some(_) => Self::Loaded,
            None if live.rewritten => Self::Changed,
            None if live.minutes > 0 => Self::Live,
            None if day.files.files == 0 => Self::Empty,
            None if whole_at.is_some_and(|whole| day.files.files >= whole) => Self::Complete,
            None => Self::Arriving,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use chrono::DateTime;
    use loader::FilesSummary;

    use super::*;
    use crate::domain::Loaded;

    fn files(files: usize) -> FilesSummary {
        FilesSummary {
            files,
            bytes: files as u64 * 10,
            newest: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(10)),
        }
    }

    fn day(loaded_files: Option<i32>, last_job: Option<JobStatus>, now: FilesSummary) -> DayFacts {
        DayFacts {
            loaded: loaded_files.map(|f| Loaded {
                files: f,
                bytes: i64::from(f) * 10,
                at: DateTime::from(SystemTime::UNIX_EPOCH + Duration::from_secs(100)),
            }),
            last_job,
            files: now,
        }
    }

    #[test]
    fn each_state_from_its_facts() {
        assert_eq!(
            DayState::of(&day(None, None, files(0)), false, LiveDay::default()),
            DayState::Empty
        );
        assert_eq!(
            DayState::of(&day(None, None, files(700)), false, LiveDay::default()),
            DayState::Arriving
        );
        assert_eq!(
            DayState::of(&day(None, None, files(1440)), false, LiveDay::default()),
            DayState::Complete
        );
        assert_eq!(
            DayState::of(
                &day(Some(1440), None, files(1440)),
                false,
                LiveDay::default()
            ),
            DayState::Loaded
        );
        assert_eq!(
            DayState::of(&day(Some(700), None, files(700)), true, LiveDay::default()),
            DayState::Partial
        );
        assert_eq!(
            DayState::of(&day(Some(700), None, files(1440)), true, LiveDay::default()),
            DayState::Changed
        );
        let failed = day(Some(1440), Some(JobStatus::Failed), files(1440));
        assert_eq!(
            DayState::of(&failed, false, LiveDay::default()),
            DayState::Failed
        );
        let live = LiveDay {
            minutes: 30,
            rows: 30 * 1914,
            rewritten: false,
        };
        assert_eq!(
            DayState::of(&day(None, None, files(30)), false, live),
            DayState::Live
        );
        let rewritten = LiveDay {
            rewritten: true,
            ..live
        };
        assert_eq!(
            DayState::of(&day(None, None, files(30)), false, rewritten),
            DayState::Changed
        );
    }
}
