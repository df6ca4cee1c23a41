//! Cancelling a job: a queued one at once, a running one by asking its worker to stop.

use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::Job;
use crate::problem::ApiError;
use crate::queries::jobs::no_such_job;
use crate::queue::{self, CancelOutcome};

/// What a cancel did.
#[derive(Debug)]
pub enum Cancelled {
    /// The job was queued: it is cancelled.
    Now(Job),
    /// The job is running: its worker was asked to stop, and ends it `cancelled`.
    Asked(Job),
}

/// Cancels job `id`; a finished job, or none, is an error that says so.
pub async fn cancel_job(pool: &PgPool, id: Uuid) -> Result<Cancelled, ApiError> {
    match queue::cancel(pool, id).await? {
        CancelOutcome::Cancelled(job) => {
            tracing::info!(job_id = %id, "queued job cancelled");
            Ok(Cancelled::Now(job))
        }
        CancelOutcome::Requested(job) => {
            tracing::info!(job_id = %id, "running job asked to stop");
            Ok(Cancelled::Asked(job))
        }
        CancelOutcome::AlreadyFinished(job) => Err(ApiError::JobFinished(format!(
            "job {id} has already finished ({}); there is nothing to cancel",
            job.status.as_str()
        ))),
        CancelOutcome::NotFound => Err(no_such_job(id)),
    }
}
