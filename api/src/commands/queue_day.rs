//! Queueing the load of one day: refused when the day already has a job, or when its files
//! do not make it whole (unless a partial load is asked for).

use chrono::NaiveDate;
use sqlx::PgPool;

use crate::catalog::ServedDataset;
use crate::domain::{Job, LoadDate};
use crate::intake::Intake;
use crate::problem::ApiError;
use crate::queue::{self, Enqueued, NewJob};

/// Queues `job` for `date` of `dataset` and wakes the workers.
pub async fn queue_day(
    dataset: &ServedDataset,
    date: LoadDate,
    job: NewJob,
    pool: &PgPool,
    intake: &Intake,
) -> Result<Job, ApiError> {
    // A busy date is answered from one index look-up, before the source is listed;
    // `enqueue` still settles races between instances.
    if let Some(active) = queue::active_for(pool, dataset.name(), date.get()).await? {
        return Err(busy(&active));
    }
    intake
        .check_day(dataset, date.get(), job.allow_partial)
        .await?;
    let job = enqueue(pool, dataset.name(), date.get(), job, intake).await?;
    tracing::info!(job_id = %job.id, dataset = dataset.name(), %date, "job queued");
    Ok(job)
}

/// Inserts `job` for `date` of `dataset` and wakes the workers; a day that has an active
/// job by then (another request won the race) is [`busy`].
pub async fn enqueue(
    pool: &PgPool,
    dataset: &str,
    date: NaiveDate,
    job: NewJob,
    intake: &Intake,
) -> Result<Job, ApiError> {
    match queue::enqueue(pool, dataset, date, job).await? {
        Enqueued::Created(job) => {
            intake.wake_workers();
            Ok(job)
        }
        Enqueued::Busy(job) => Err(busy(&job)),
    }
}

/// The answer for a date that already has a queued or running job.
pub fn busy(job: &Job) -> ApiError {
    ApiError::DateBusy {
        detail: format!(
            "{}{} already has a {} job ({}); cancel it or wait for it to finish",
            job.date,
            of_dataset(&job.dataset),
            job.status.as_str(),
            job.id
        ),
        job_id: job.id,
    }
}

/// " of <dataset>" for a declared dataset's day; nothing for the sample's, whose messages
/// read as they always did.
pub fn of_dataset(dataset: &str) -> String {
    if dataset == loader::SAMPLE_DATASET {
        String::new()
    } else {
        format!(" of {dataset}")
    }
}
