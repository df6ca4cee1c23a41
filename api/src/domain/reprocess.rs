//! Which days of a backfill to load again (`reprocess=`), as orchestrators' users ask for
//! it: the days never loaded, those whose last job failed, those whose files changed
//! since their load, or all of them.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use loader::{FilesSummary, PartitionInfo};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::domain::JobStatus;

/// The days of a range a backfill queues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Reprocess {
    /// Days not loaded yet.
    Missing,
    /// Days whose latest job failed.
    Failed,
    /// Loaded days whose files differ from what was loaded: another number of files,
    /// another total size, or a file modified after the load.
    Changed,
    /// Every day with files (a full reload).
    #[default]
    All,
}

/// What was loaded for a day, as its load record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    pub files: i32,
    pub bytes: i64,
    pub at: DateTime<Utc>,
}

/// What is known of a day when a backfill decides whether to queue it.
#[derive(Debug, Clone, Copy)]
pub struct DayFacts {
    pub loaded: Option<Loaded>,
    pub last_job: Option<JobStatus>,
    pub files: FilesSummary,
}

impl Reprocess {
    /// `Ok` to queue the day, or why it is left alone.
    pub fn select(self, day: &DayFacts) -> Result<(), &'static str> {
        match self {
            Self::All => Ok(()),
            Self::Missing if day.loaded.is_some() => Err("already loaded"),
            Self::Missing => Ok(()),
            Self::Failed if day.last_job == Some(JobStatus::Failed) => Ok(()),
            Self::Failed => Err("its latest job did not fail"),
            Self::Changed => match day.loaded {
                None => Err("never loaded (reprocess=missing loads it)"),
                Some(loaded) if loaded.differs_from(&day.files) => Ok(()),
                Some(_) => Err("its files are as they were when it was loaded"),
            },
        }
    }
}

impl From<&PartitionInfo> for Loaded {
    fn from(load: &PartitionInfo) -> Self {
        Self {
            files: load.files,
            bytes: load.source_bytes,
            at: load.loaded_at,
        }
    }
}

impl Loaded {
    /// The day's files differ from what was loaded: another number of files, another
    /// total size, or a file modified after the load.
    pub fn differs_from(&self, now: &FilesSummary) -> bool {
        let modified_after = now
            .newest
            .is_some_and(|newest| newest > SystemTime::from(self.at));
        usize::try_from(self.files).ok() != Some(now.files)
            || u64::try_from(self.bytes).ok() != Some(now.bytes)
            || modified_after
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn facts(loaded: Option<Loaded>, last_job: Option<JobStatus>, files: FilesSummary) -> DayFacts {
        DayFacts {
            loaded,
            last_job,
            files,
        }
    }

    const NOW: FilesSummary = FilesSummary {
        files: 1440,
        bytes: 1000,
        newest: None,
    };

    fn loaded(files: i32, bytes: i64) -> Loaded {
        Loaded {
            files,
            bytes,
            at: DateTime::from(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000)),
        }
    }

    #[test]
    fn missing_selects_days_never_loaded() {
        assert_eq!(Reprocess::Missing.select(&facts(None, None, NOW)), Ok(()));
        let day = facts(Some(loaded(1440, 1000)), None, NOW);
        assert_eq!(Reprocess::Missing.select(&day), Err("already loaded"));
    }

    #[test]
    fn failed_selects_days_whose_latest_job_failed() {
        let failed = facts(Some(loaded(1440, 1000)), Some(JobStatus::Failed), NOW);
        assert_eq!(Reprocess::Failed.select(&failed), Ok(()));
        let cancelled = facts(None, Some(JobStatus::Cancelled), NOW);
        assert!(Reprocess::Failed.select(&cancelled).is_err());
    }

    #[test]
    fn changed_selects_other_counts_sizes_or_newer_files() {
        let same = facts(Some(loaded(1440, 1000)), None, NOW);
        assert!(Reprocess::Changed.select(&same).is_err());
        let fewer = facts(Some(loaded(1439, 1000)), None, NOW);
        assert_eq!(Reprocess::Changed.select(&fewer), Ok(()));
        let bigger = facts(Some(loaded(1440, 999)), None, NOW);
        assert_eq!(Reprocess::Changed.select(&bigger), Ok(()));
        let touched = FilesSummary {
            newest: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(2_000)),
            ..NOW
        };
        let newer = facts(Some(loaded(1440, 1000)), None, touched);
        assert_eq!(Reprocess::Changed.select(&newer), Ok(()));
        assert!(Reprocess::Changed.select(&facts(None, None, NOW)).is_err());
        assert_eq!(Reprocess::All.select(&same), Ok(()));
    }
}
