//! What accepting a job needs besides the database: the data directory (a day without
//! files is refused at once, rather than queued to fail), the attempts each job gets,
//! and a way to wake this process's idle workers.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::web;
use chrono::NaiveDate;
use tokio::sync::Notify;

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

    /// Why `date` cannot be loaded from the data directory, if it cannot.
    pub async fn missing_source(&self, date: NaiveDate) -> Option<String> {
        let dir = self.data_dir.clone();
        let listed = web::block(move || loader::files_for_day(&dir, date)).await;
        match listed {
            Ok(Ok(_)) => None,
            Ok(Err(error)) => Some(error.to_string()),
            Err(error) => Some(format!("could not list the source files: {error}")),
        }
    }

    /// The days the data directory has files for, from one listing of it; empty (with a
    /// warning) when it cannot be listed.
    pub async fn days_with_source(&self) -> BTreeSet<NaiveDate> {
        let dir = self.data_dir.clone();
        let listed = web::block(move || loader::days_with_files(&dir)).await;
        let error = match listed {
            Ok(Ok(days)) => return days,
            Ok(Err(error)) => error.to_string(),
            Err(error) => error.to_string(),
        };
        tracing::warn!(%error, "could not list the source files");
        BTreeSet::new()
    }

    /// Tells an idle local worker that there is work.
    pub fn wake_workers(&self) {
        self.wake.notify_waiters();
    }
}
