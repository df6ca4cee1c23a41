//! The job queue in the database (`ops.jobs`): the only shared state between API
//! instances and workers. This module is the requests' side (queue, look up, list,
//! cancel); [`lease`] is the workers' side (claim, heartbeat, finish, reap).
//!
//! Every state change is one conditional `UPDATE`, so that two instances racing on a job
//! cannot both win: a worker only writes to a job while it is `running` under its own
//! worker id, and the partial unique index `jobs_one_active_per_day` lets at most one
//! job per (dataset, date) be queued or running.

pub mod lease;
mod listing;
mod vitals;

pub use listing::{ListFilter, active, active_by_day, job_dates, list, of_day, recent_finished};
pub use vitals::{QueueVitals, vitals};

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{AuditFinding, Job, JobAttempt, JobError, JobProgress, JobStatus, JobTrigger};

pub(crate) const COLUMNS: &str = "id, dataset, date, status, trigger, attempt, max_attempts, files_done, files_total, \
    rows_done, rows_total, rows_loaded, replaced_rows, error_message, error_file, error_row, \
    error_column, cancel_requested, allow_partial, force, rollback_to, audits, worker_id, created_at, \
    started_at, heartbeat_at, finished_at, (extract(epoch FROM finished_at - started_at) * 1000)::bigint AS duration_ms";

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct JobRow {
    id: Uuid,
    dataset: String,
    date: NaiveDate,
    status: JobStatus,
    trigger: JobTrigger,
    attempt: i32,
    max_attempts: i32,
    files_done: i64,
    files_total: Option<i64>,
    rows_done: i64,
    rows_total: Option<i64>,
    rows_loaded: Option<i64>,
    replaced_rows: Option<i64>,
    #[sqlx(flatten)]
    error: ErrorColumns,
    cancel_requested: bool,
    allow_partial: bool,
    force: bool,
    rollback_to: Option<i32>,
    audits: Option<sqlx::types::Json<Vec<AuditFinding>>>,
    worker_id: Option<String>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    heartbeat_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    duration_ms: Option<i64>,
}

/// The `error_*` columns a job and each of its attempts carry.
#[derive(Debug, sqlx::FromRow)]
struct ErrorColumns {
    error_message: Option<String>,
    error_file: Option<String>,
    error_row: Option<i64>,
    error_column: Option<String>,
}

impl ErrorColumns {
    /// The error, if there is one (a message is what makes one).
    fn into_error(self) -> Option<JobError> {
        self.error_message.map(|message| JobError {
            message,
            file: self.error_file,
            row: self.error_row,
            column: self.error_column,
        })
    }
}

impl From<JobRow> for Job {
    fn from(row: JobRow) -> Self {
        Job {
            id: row.id,
            dataset: row.dataset,
            date: row.date,
            status: row.status,
            trigger: row.trigger,
            attempt: row.attempt,
            max_attempts: row.max_attempts,
            progress: JobProgress {
                files_done: row.files_done,
                files_total: row.files_total,
                rows_done: row.rows_done,
                rows_total: row.rows_total,
            },
            rows_loaded: row.rows_loaded,
            replaced_rows: row.replaced_rows,
            error: row.error.into_error(),
            cancel_requested: row.cancel_requested,
            allow_partial: row.allow_partial,
            force: row.force,
            rollback_to: row.rollback_to,
            audits: row.audits.map(|a| a.0),
            worker_id: row.worker_id,
            created_at: row.created_at,
            started_at: row.started_at,
            heartbeat_at: row.heartbeat_at,
            finished_at: row.finished_at,
            duration_ms: row.duration_ms,
            attempts: None,
        }
    }
}

pub(crate) async fn fetch_one_job(
    query: sqlx::query::QueryAs<'_, sqlx::Postgres, JobRow, sqlx::postgres::PgArguments>,
    pool: &PgPool,
) -> Result<Option<Job>, sqlx::Error> {
    Ok(query.fetch_optional(pool).await?.map(Job::from))
}

/// The outcome of asking for a job for a date.
#[derive(Debug)]
pub enum Enqueued {
    Created(Job),
    /// The date already has this queued or running job.
    Busy(Job),
}

/// Why a job could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    /// The date's active job ended and another took its place, again and again, between
    /// the insert and the look-up: another client is queueing and cancelling it right now.
    #[error(
        "could not queue {date} of {dataset}: its active job kept changing while this \
         request looked; try again"
    )]
    KeptChanging { dataset: String, date: NaiveDate },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What a new job is allowed to do, besides loading its day.
#[derive(Debug, Clone, Copy)]
pub struct NewJob {
    pub max_attempts: i32,
    /// Load the day even if minute files are missing.
    pub allow_partial: bool,
    /// Replace the day even if it shrinks below the shrink guard.
    pub force: bool,
    pub trigger: JobTrigger,
    /// For a rollback: the version to swap back in.
    pub rollback_to: Option<i32>,
}

/// Queues a load of `date` of `dataset` unless that day already has an active job.
pub async fn enqueue(
    pool: &PgPool,
    dataset: &str,
    date: NaiveDate,
    job: NewJob,
) -> Result<Enqueued, EnqueueError> {
    // The active job may finish between a failed insert and the look-up; then try again.
    for _ in 0..5 {
        if let Some(job) = try_insert(pool, dataset, date, job).await? {
            return Ok(Enqueued::Created(job));
        }
        if let Some(job) = active_for(pool, dataset, date).await? {
            return Ok(Enqueued::Busy(job));
        }
    }
    Err(EnqueueError::KeptChanging {
        dataset: dataset.to_owned(),
        date,
    })
}

/// Inserts a queued job for `date` of `dataset`, or nothing (`None`) when that day has an
/// active job.
pub async fn try_insert<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    dataset: &str,
    date: NaiveDate,
    job: NewJob,
) -> Result<Option<Job>, sqlx::Error> {
    let insert = format!(
        "INSERT INTO ops.jobs (id, date, max_attempts, allow_partial, force, trigger, rollback_to,
                               dataset)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (dataset, date) WHERE status IN ('queued', 'running') DO NOTHING
         RETURNING {COLUMNS}"
    );
    let inserted: Option<JobRow> = sqlx::query_as(&insert)
        .bind(Uuid::new_v4())
        .bind(date)
        .bind(job.max_attempts)
        .bind(job.allow_partial)
        .bind(job.force)
        .bind(job.trigger)
        .bind(job.rollback_to)
        .bind(dataset)
        .fetch_optional(executor)
        .await?;
    Ok(inserted.map(Job::from))
}

/// The queued or running job of `date` of `dataset`, if it has one.
pub async fn active_for(
    pool: &PgPool,
    dataset: &str,
    date: NaiveDate,
) -> Result<Option<Job>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM ops.jobs
         WHERE dataset = $1 AND date = $2 AND status IN ('queued', 'running')"
    );
    fetch_one_job(
        sqlx::query_as::<_, JobRow>(&sql).bind(dataset).bind(date),
        pool,
    )
    .await
}

/// Each day's latest job (its id and status), for the days of `from..=to` of `dataset`
/// that have one.
pub async fn latest_by_day(
    pool: &PgPool,
    dataset: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashMap<NaiveDate, (Uuid, JobStatus)>, sqlx::Error> {
    let rows: Vec<(NaiveDate, Uuid, JobStatus)> = sqlx::query_as(
        "SELECT DISTINCT ON (date) date, id, status FROM ops.jobs
         WHERE dataset = $3 AND date BETWEEN $1 AND $2 ORDER BY date, created_at DESC",
    )
    .bind(from)
    .bind(to)
    .bind(dataset)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(date, id, status)| (date, (id, status)))
        .collect())
}

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Job>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM ops.jobs WHERE id = $1");
    let query = sqlx::query_as::<_, JobRow>(&sql).bind(id);
    fetch_one_job(query, pool).await
}

/// The job with every one of its runs.
pub async fn get_with_attempts(pool: &PgPool, id: Uuid) -> Result<Option<Job>, sqlx::Error> {
    let Some(mut job) = get(pool, id).await? else {
        return Ok(None);
    };
    job.attempts = Some(attempts(pool, id).await?);
    Ok(Some(job))
}

#[derive(sqlx::FromRow)]
struct AttemptRow {
    #[sqlx(flatten)]
    attempt: JobAttempt,
    #[sqlx(flatten)]
    error: ErrorColumns,
}

async fn attempts(pool: &PgPool, id: Uuid) -> Result<Vec<JobAttempt>, sqlx::Error> {
    let rows: Vec<AttemptRow> = sqlx::query_as(
        "SELECT attempt, worker_id, started_at, finished_at, outcome,
                error_message, error_file, error_row, error_column
         FROM ops.job_attempts WHERE job_id = $1 ORDER BY run",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| JobAttempt {
            error: row.error.into_error(),
            ..row.attempt
        })
        .collect())
}

pub async fn exists(pool: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT FROM ops.jobs WHERE id = $1)")
        .bind(id)
        .fetch_one(pool)
        .await
}

/// What a cancel request did.
#[derive(Debug)]
pub enum CancelOutcome {
    /// The job was queued and is now cancelled.
    Cancelled(Job),
    /// The job is running; its worker stops it at its next heartbeat.
    Requested(Job),
    AlreadyFinished(Job),
    NotFound,
}

pub async fn cancel(pool: &PgPool, id: Uuid) -> Result<CancelOutcome, sqlx::Error> {
    let sql = format!(
        "UPDATE ops.jobs SET
             cancel_requested = true,
             status = CASE status WHEN 'queued' THEN 'cancelled' ELSE status END,
             finished_at = CASE status WHEN 'queued' THEN clock_timestamp() ELSE finished_at END
         WHERE id = $1 AND status IN ('queued', 'running')
         RETURNING {COLUMNS}"
    );
    let updated = sqlx::query_as::<_, JobRow>(&sql).bind(id);
    Ok(match fetch_one_job(updated, pool).await? {
        Some(job) if job.status == JobStatus::Cancelled => CancelOutcome::Cancelled(job),
        Some(job) => CancelOutcome::Requested(job),
        None => match get(pool, id).await? {
            Some(job) => CancelOutcome::AlreadyFinished(job),
            None => CancelOutcome::NotFound,
        },
    })
}

/// Jobs per dataset and status, for the metrics.
pub async fn count_by_status(pool: &PgPool) -> Result<Vec<(String, JobStatus, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT dataset, status, count(*) FROM ops.jobs GROUP BY dataset, status")
        .fetch_all(pool)
        .await
}
