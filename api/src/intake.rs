//! What accepting a job needs besides the database: the data directory (a day without
//! files is refused at once, rather than queued to fail), the attempts each job gets,
//! and a way to wake this process's idle workers.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::web;
use chrono::NaiveDate;
use loader::{DayFiles, LoadError};
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
            .map_err(refused)
    }

    /// The days the data directory has files for, with their files, from one listing of
    /// it; empty (with a warning) when it cannot be listed.
    pub async fn days_with_source(&self) -> BTreeMap<NaiveDate, DayFiles> {
        let dir = self.data_dir.clone();
        let listed = web::block(move || loader::list_days(&dir)).await;
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

/// The problem for a day the loader would refuse.
pub fn refused(error: LoadError) -> ApiError {
    match error {
        LoadError::DayIncomplete { ref missing, .. } => ApiError::DayIncomplete {
            detail: error.to_string(),
            missing: missing.count(),
        },
        LoadError::DayAmbiguous { .. } => ApiError::DayAmbiguous(error.to_string()),
        other => ApiError::NoSourceFiles(other.to_string()),
    }
}
