//! What accepting a job needs besides the database: the data directory (a day without
//! files, or whose files are incomplete or ambiguous, is refused at once rather than
//! queued to fail), the attempts each job gets, and a way to wake this process's idle
//! workers.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::web;
use chrono::NaiveDate;
use loader::{DayFiles, FilesSummary, LoadError};
use tokio::sync::Notify;

use crate::problem::ApiError;

/// Shared by the job handlers of one process.
#[derive(Debug)]
pub struct Intake {
    pub data_dir: PathBuf,
    /// Runs each new job gets before it is failed.
    pub max_attempts: i32,
    wake: Arc<Notify>,
}

impl Intake {
    /// `wake` is what this process's idle workers wait on.
    pub fn new(data_dir: PathBuf, max_attempts: i32, wake: Arc<Notify>) -> Self {
        Self {
            data_dir,
            max_attempts,
            wake,
        }
    }

    /// Refuses a day that cannot be loaded as asked: no files, an ambiguous day, or an
    /// incomplete one unless `allow_partial`. The worker judges the day again when it runs.
    pub async fn check_day(&self, date: NaiveDate, allow_partial: bool) -> Result<(), ApiError> {
        let dir = self.data_dir.clone();
        let listed = web::block(move || loader::list_day(&dir, date))
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
        listed
            .and_then(|day| day.judge(allow_partial))
            .map(|_| ())
            .map_err(|error| refused(error, &self.data_dir))
    }

    /// The days the data directory has files for, with their files, from one listing of
    /// it; empty (with a warning) when it cannot be listed.
    pub async fn days_with_source(&self) -> BTreeMap<NaiveDate, DayFiles> {
        self.listed(loader::list_days).await
    }

    /// [`Intake::days_with_source`] for `date` alone: a page or a cell of one day (asked
    /// for again at every event of the day) need not sort a month of files into days.
    pub async fn day_with_source(&self, date: NaiveDate) -> BTreeMap<NaiveDate, DayFiles> {
        self.listed(move |dir| {
            let day = loader::list_day(dir, date)?;
            Ok(BTreeMap::from([(date, day)]))
        })
        .await
    }

    /// One listing of the data directory, off the async runtime; empty (with a warning)
    /// when it cannot be listed.
    async fn listed(
        &self,
        list: impl FnOnce(&Path) -> Result<BTreeMap<NaiveDate, DayFiles>, LoadError> + Send + 'static,
    ) -> BTreeMap<NaiveDate, DayFiles> {
        let dir = self.data_dir.clone();
        let listed = web::block(move || list(&dir)).await;
        let error = match listed {
            Ok(Ok(days)) => return days,
            Ok(Err(error)) => error.to_string(),
            Err(error) => error.to_string(),
        };
        tracing::warn!(%error, "could not list the source files");
        BTreeMap::new()
    }

    /// Tells an idle local worker that there is work.
    pub fn wake_workers(&self) {
        self.wake.notify_waiters();
    }
}

/// `message` with the data directory's path taken out: answers name files relative to
/// it, since the server's paths are none of a client's business.
pub fn without_data_dir(message: &str, data_dir: &Path) -> String {
    let dir = data_dir.display().to_string();
    message
        .replace(&format!("{dir}/"), "")
        .replace(&dir, "the data directory")
}

/// The problem for a day the loader would refuse.
pub fn refused(error: LoadError, data_dir: &Path) -> ApiError {
    let detail = without_data_dir(&error.to_string(), data_dir);
    match error {
        LoadError::DayIncomplete { missing, .. } => ApiError::DayIncomplete {
            detail,
            missing: missing.count(),
        },
        LoadError::DayAmbiguous { .. } => ApiError::DayAmbiguous(detail),
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
        let dir = Path::new("/srv/dwh/data");
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
    }
}
