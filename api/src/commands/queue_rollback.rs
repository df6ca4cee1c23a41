//! Queueing a rollback: a kept version of a day swapped back in by a worker, refused when
//! the day is busy, the version is not kept, or it is already the current one.

use chrono::NaiveDate;
use sqlx::PgPool;

use crate::commands::queue_day::{busy, enqueue};
use crate::domain::{Job, JobTrigger};
use crate::intake::Intake;
use crate::problem::ApiError;
use crate::queue::{self, NewJob};

/// Queues the rollback of `date` to `version` and wakes the workers.
pub async fn queue_rollback(
    date: NaiveDate,
    version: i32,
    pool: &PgPool,
    intake: &Intake,
) -> Result<Job, ApiError> {
    if let Some(active) = queue::active_for(pool, date).await? {
        return Err(busy(&active));
    }
    let versions = loader::list_versions(pool, date).await?;
    match versions.iter().find(|v| v.version == version) {
        None => return Err(no_such_version(date, i64::from(version))),
        Some(v) if v.current => {
            return Err(ApiError::AlreadyCurrent(format!(
                "version {version} is {date}'s current version already; nothing to roll back"
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
    let job = enqueue(pool, date, job, intake).await?;
    tracing::info!(job_id = %job.id, %date, version, "rollback queued");
    Ok(job)
}

/// The answer for a version the day does not keep.
pub fn no_such_version(date: NaiveDate, version: i64) -> ApiError {
    ApiError::NotFound(format!(
        "{date} has no kept version {version}; GET /days/{date}/versions lists the kept ones"
    ))
}
