//! What accepting a job needs besides the database: the dataset's source (a day without
//! files, or whose files are incomplete or ambiguous, is refused at once rather than
//! queued to fail), the attempts each job gets, and a way to wake this process's idle
//! workers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use actix_web::web;
use chrono::NaiveDate;
use loader::{DataSource, DayFiles, FilesSummary, LoadError};
use tokio::sync::Notify;

use crate::catalog::ServedDataset;
use crate::problem::ApiError;

/// Shared by the job handlers of one process.
#[derive(Debug)]
pub struct Intake {
    /// Runs each new job gets before it is failed.
    pub max_attempts: i32,
    wake: Arc<Notify>,
}

impl Intake {
    /// `wake` is what this process's idle workers wait on.
    pub fn new(max_attempts: i32, wake: Arc<Notify>) -> Self {
        Self { max_attempts, wake }
    }

    /// Refuses a day that cannot be loaded as asked: no files, an ambiguous day, or an
    /// incomplete one unless `allow_partial`. The worker judges the day again when it runs.
    pub async fn check_day(
        &self,
        dataset: &ServedDataset,
        date: NaiveDate,
        allow_partial: bool,
    ) -> Result<(), ApiError> {
        let source = &dataset.source;
        source
            .list_layout_day(&dataset.dataset.layout, date)
            .await
            .and_then(|day| day.judge(allow_partial))
            .map(|_| ())
            .map_err(|error| refused(error, source))
    }

    /// The days the dataset's source has files for, with their files, for a backfill; a
    /// bucket that cannot be listed is not taken for one without files: 503 then. (A
    /// directory that cannot be read is still taken as empty: it may not have been made
    /// yet.)
    pub async fn list_days(
        &self,
        dataset: &ServedDataset,
    ) -> Result<BTreeMap<NaiveDate, DayFiles>, ApiError> {
        let source = &dataset.source;
        match source.list_layout_days(&dataset.dataset.layout).await {
            Err(error @ LoadError::Storage { .. }) => Err(ApiError::Unavailable(without_data_dir(
                &error.to_string(),
                source,
            ))),
            listed => Ok(Self::or_warn(listed)),
        }
    }

    fn or_warn(
        listed: Result<BTreeMap<NaiveDate, DayFiles>, LoadError>,
    ) -> BTreeMap<NaiveDate, DayFiles> {
        listed.unwrap_or_else(|error| {
            tracing::warn!(%error, "could not list the source files");
            BTreeMap::new()
        })
    }

    /// Tells an idle local worker that there is work.
    pub fn wake_workers(&self) {
        self.wake.notify_waiters();
    }
}

/// `message` with the data directory's path (or the bucket's URL) taken out: answers
/// name files relative to it, since the server's paths are none of a client's business.
pub fn without_data_dir(message: &str, source: &DataSource) -> String {
    let dir = source.to_string();
    let name = if source.is_dir() {
        "the data directory"
    } else {
        "the bucket"
    };
    message.replace(&format!("{dir}/"), "").replace(&dir, name)
}

/// The problem for a day the loader would refuse.
pub fn refused(error: LoadError, source: &DataSource) -> ApiError {
    let detail = without_data_dir(&error.to_string(), source);
    match error {
        // The bucket could not be listed: try again later, nothing is wrong with the day.
        LoadError::Storage { .. } => ApiError::Unavailable(detail),
        LoadError::DayIncomplete { missing, .. } => ApiError::DayIncomplete {
            detail,
            missing: missing.count(),
        },
        LoadError::DayAmbiguous { .. } => ApiError::DayAmbiguous(detail),
        LoadError::DayUnfinished { .. } => ApiError::DayUnfinished(detail),
        _ => ApiError::NoSourceFiles(detail),
    }
}

/// The files of the days of `available` within `from..=to` as they are now (count, bytes,
/// newest modification), read off the async runtime: a stat per file.
pub async fn files_now(
    available: &BTreeMap<NaiveDate, DayFiles>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashMap<NaiveDate, FilesSummary>, ApiError> {
    let days: Vec<DayFiles> = available.range(from..=to).map(|(_, d)| d.clone()).collect();
    web::block(move || {
        days.iter()
            .map(|day| day.summary().map(|s| (day.date(), s)))
            .collect::<std::io::Result<HashMap<_, _>>>()
    })
    .await
    .map_err(|e| anyhow::anyhow!("reading the files' metadata: {e}"))?
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("reading the files' metadata: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_name_files_relative_to_the_data_directory() {
        let dir = &DataSource::Dir("/srv/dwh/data".into());
        assert_eq!(
            without_data_dir(
                "invalid input: /srv/dwh/data/2023-01-01 00:03:00.parquet, row 0",
                dir
            ),
            "invalid input: 2023-01-01 00:03:00.parquet, row 0"
        );
        assert_eq!(
            without_data_dir("no source files for 2023-01-05 in /srv/dwh/data (…)", dir),
            "no source files for 2023-01-05 in the data directory (…)"
        );
        assert_eq!(
            without_data_dir(
                "cannot read the source directory /srv/dwh/data: denied",
                dir
            ),
            "cannot read the source directory the data directory: denied"
        );
        let bucket = DataSource::parse("s3://minutes/january", Default::default()).expect("url");
        assert_eq!(
            without_data_dir(
                "s3://minutes/january/2023-01-01 00:03:00.parquet: is gone; in s3://minutes/january",
                &bucket
            ),
            "2023-01-01 00:03:00.parquet: is gone; in the bucket"
        );
    }
}
