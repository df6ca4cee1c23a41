//! Queueing a rollback: a kept version of a day swapped back in by a worker, refused when
//! the day is busy, the version is not kept, or it is already the current one.

use chrono::NaiveDate;
use sqlx::PgPool;

use crate::catalog::ServedDataset;
use crate::commands::queue_day::{busy, enqueue, of_dataset};
use crate::domain::{Job, JobTrigger};
use crate::intake::Intake;
use crate::problem::ApiError;
use crate::queue::{self, NewJob};

/// Queues the rollback of `date` of `dataset` to `version` and wakes the workers.
pub async fn queue_rollback(
    dataset: &ServedDataset,
    date: NaiveDate,
    version: i32,
    pool: &PgPool,
    intake: &Intake,
) -> Result<Job, ApiError> {
    if let Some(active) = queue::active_for(pool, dataset.name(), date).await? {
        return Err(busy(&active));
    }
    let versions = dataset.versions(pool, date).await?;
    match versions.iter().find(|v| v.version == version) {
        None => return Err(no_such_version(dataset.name(), date, i64::from(version))),
        Some(v) if v.current => {
            return Err(ApiError::AlreadyCurrent(format!(
                "version {version} is {date}{}'s current version already; nothing to roll back",
                of_dataset(dataset.name())
            )));
        }
        Some(_) => {}
    }
    let job = NewJob {
        max_attempts: intake.max_attempts,
        allow_partial: false,
        force: false,
        trigger: JobTrigger::Rollback,
        rollback_to: Some(version),
    };
    let job = enqueue(pool, dataset.name(), date, job, intake).await?;
    tracing::info!(job_id = %job.id, dataset = dataset.name(), %date, version, "rollback queued");
    Ok(job)
}

/// The answer for a version the day does not keep.
pub fn no_such_version(dataset: &str, date: NaiveDate, version: i64) -> ApiError {
    let query = if dataset == loader::SAMPLE_DATASET {
        String::new()
    } else {
        format!("?dataset={dataset}")
    };
    ApiError::NotFound(format!(
        "{date}{} has no kept version {version}; GET /days/{date}/versions{query} lists the \
         kept ones",
        of_dataset(dataset)
    ))
}
