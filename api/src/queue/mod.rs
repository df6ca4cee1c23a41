//! The jobs table (`ops.jobs`): the only shared state between API instances and workers.
//!
//! Every state change is one conditional `UPDATE`, so that two instances racing on a job
//! cannot both win: a worker only writes to a job while it is `running` under its own
//! worker id, and the partial unique index `jobs_one_active_per_date` lets at most one
//! job per date be queued or running.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use loader::{LoadError, LoadProgress, LoadReport};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{Job, JobError, JobProgress, JobStatus};

const COLUMNS: &str = "id, date, status, attempt, max_attempts, files_done, files_total, \
    rows_done, rows_total, rows_loaded, replaced_rows, error_message, error_file, error_row, \
    error_column, cancel_requested, worker_id, created_at, started_at, heartbeat_at, \
    finished_at, (extract(epoch FROM finished_at - started_at) * 1000)::bigint AS duration_ms";

#[derive(Debug, sqlx::FromRow)]
struct JobRow {
    id: Uuid,
    date: NaiveDate,
    status: String,
    attempt: i32,
    max_attempts: i32,
    files_done: i64,
    files_total: Option<i64>,
    rows_done: i64,
    rows_total: Option<i64>,
    rows_loaded: Option<i64>,
    replaced_rows: Option<i64>,
    error_message: Option<String>,
    error_file: Option<String>,
    error_row: Option<i64>,
    error_column: Option<String>,
    cancel_requested: bool,
    worker_id: Option<String>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    heartbeat_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    duration_ms: Option<i64>,
}

impl From<JobRow> for Job {
    fn from(row: JobRow) -> Self {
        Job {
            id: row.id,
            date: row.date,
            // The CHECK constraint admits only the five known values.
            status: JobStatus::parse(&row.status).unwrap_or(JobStatus::Failed),
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
            error: row.error_message.map(|message| JobError {
                message,
                file: row.error_file,
                row: row.error_row,
                column: row.error_column,
            }),
            cancel_requested: row.cancel_requested,
            worker_id: row.worker_id,
            created_at: row.created_at,
            started_at: row.started_at,
            heartbeat_at: row.heartbeat_at,
            finished_at: row.finished_at,
            duration_ms: row.duration_ms,
        }
    }
}

async fn fetch_one_job(
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

/// Queues a load of `date` unless the date already has an active job.
pub async fn enqueue(
    pool: &PgPool,
    date: NaiveDate,
    max_attempts: i32,
) -> Result<Enqueued, sqlx::Error> {
    // The active job may finish between a failed insert and the look-up; then try again.
    let insert = format!(
        "INSERT INTO ops.jobs (id, date, max_attempts) VALUES ($1, $2, $3)
         ON CONFLICT (date) WHERE status IN ('queued', 'running') DO NOTHING
         RETURNING {COLUMNS}"
    );
    for _ in 0..5 {
        let inserted = sqlx::query_as::<_, JobRow>(&insert)
            .bind(Uuid::new_v4())
            .bind(date)
            .bind(max_attempts);
        if let Some(job) = fetch_one_job(inserted, pool).await? {
            return Ok(Enqueued::Created(job));
        }
        if let Some(job) = active_for(pool, date).await? {
            return Ok(Enqueued::Busy(job));
        }
    }
    Err(sqlx::Error::Protocol(format!(
        "could not queue {date}: its active job kept changing"
    )))
}

/// The date's queued or running job, if it has one.
pub async fn active_for(pool: &PgPool, date: NaiveDate) -> Result<Option<Job>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM ops.jobs WHERE date = $1 AND status IN ('queued', 'running')"
    );
    fetch_one_job(sqlx::query_as::<_, JobRow>(&sql).bind(date), pool).await
}

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<Job>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM ops.jobs WHERE id = $1");
    let query = sqlx::query_as::<_, JobRow>(&sql).bind(id);
    fetch_one_job(query, pool).await
}

/// Which jobs to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<JobStatus>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// List the jobs after this one (the previous page's last job).
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// One page of jobs, and whether there are more.
pub async fn list(pool: &PgPool, filter: &ListFilter) -> Result<(Vec<Job>, bool), sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM ops.jobs
         WHERE ($1::text IS NULL OR status = $1)
           AND ($2::date IS NULL OR date >= $2)
           AND ($3::date IS NULL OR date <= $3)
           AND ($4::uuid IS NULL OR (created_at, id) < (SELECT created_at, id FROM ops.jobs WHERE id = $4))
         ORDER BY created_at DESC, id DESC
         LIMIT $5"
    );
    let rows = sqlx::query_as::<_, JobRow>(&sql)
        .bind(filter.status.map(JobStatus::as_str))
        .bind(filter.from)
        .bind(filter.to)
        .bind(filter.after)
        .bind(filter.limit + 1)
        .fetch_all(pool)
        .await?;
    let more = rows.len() as i64 > filter.limit;
    Ok((
        rows.into_iter()
            .take(filter.limit as usize)
            .map(Job::from)
            .collect(),
        more,
    ))
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

/// Jobs per status, for the metrics.
pub async fn count_by_status(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT status, count(*) FROM ops.jobs GROUP BY status")
        .fetch_all(pool)
        .await
}

// ---- The worker's side -------------------------------------------------------------

/// Takes the oldest runnable queued job, if any, for `worker_id`.
pub async fn claim(pool: &PgPool, worker_id: &str) -> Result<Option<Job>, sqlx::Error> {
    let sql = format!(
        "UPDATE ops.jobs SET status = 'running', attempt = attempt + 1, worker_id = $1,
             started_at = clock_timestamp(), heartbeat_at = clock_timestamp(),
             files_done = 0, rows_done = 0, error_message = NULL, error_file = NULL,
             error_row = NULL, error_column = NULL
         WHERE id = (
             SELECT id FROM ops.jobs
             WHERE status = 'queued' AND run_after <= clock_timestamp()
             ORDER BY run_after, created_at
             LIMIT 1
             FOR UPDATE SKIP LOCKED
         )
         RETURNING {COLUMNS}"
    );
    let query = sqlx::query_as::<_, JobRow>(&sql).bind(worker_id);
    fetch_one_job(query, pool).await
}

/// What the table says back to a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    Continue,
    CancelRequested,
    /// The job is no longer ours (it was reaped while we could not report).
    Lost,
}

/// Records progress and that the worker is alive.
pub async fn heartbeat(
    pool: &PgPool,
    id: Uuid,
    worker_id: &str,
    progress: LoadProgress,
) -> Result<Heartbeat, sqlx::Error> {
    let cancel: Option<bool> = sqlx::query_scalar(
        "UPDATE ops.jobs SET heartbeat_at = clock_timestamp(), files_done = $3,
             files_total = $4, rows_done = $5, rows_total = $6
         WHERE id = $1 AND worker_id = $2 AND status = 'running'
         RETURNING cancel_requested",
    )
    .bind(id)
    .bind(worker_id)
    .bind(to_i64(progress.files_done))
    .bind(nonzero(progress.files_total))
    .bind(to_i64(progress.rows_done))
    .bind(nonzero(progress.rows_total))
    .fetch_optional(pool)
    .await?;
    Ok(match cancel {
        None => Heartbeat::Lost,
        Some(true) => Heartbeat::CancelRequested,
        Some(false) => Heartbeat::Continue,
    })
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Totals are unknown (null) until the files are listed.
fn nonzero(n: u64) -> Option<i64> {
    (n > 0).then(|| to_i64(n))
}

/// How a run ended, as the worker reports it.
#[derive(Debug, Clone)]
pub enum Finish<'a> {
    Succeeded(&'a LoadReport),
    Failed(JobError),
    Cancelled(&'a LoadError),
    /// A transient error: run again after `delay`, unless the attempts are used up.
    Retry {
        error: JobError,
        delay: Duration,
    },
    /// The worker is shutting down: hand the job back without counting the run.
    Release,
}

/// Records the end of a run. Returns false if the job was no longer this worker's.
pub async fn finish(
    pool: &PgPool,
    id: Uuid,
    worker_id: &str,
    how: Finish<'_>,
) -> Result<bool, sqlx::Error> {
    let query = match how {
        Finish::Succeeded(report) => sqlx::query(
            "UPDATE ops.jobs SET status = 'succeeded', finished_at = clock_timestamp(),
                 heartbeat_at = clock_timestamp(), rows_loaded = $3, replaced_rows = $4,
                 files_done = $5, files_total = $5, rows_done = $3, rows_total = $3
             WHERE id = $1 AND worker_id = $2 AND status = 'running'",
        )
        .bind(id)
        .bind(worker_id)
        .bind(to_i64(report.rows))
        .bind(report.replaced_rows)
        .bind(to_i64(report.files)),
        Finish::Failed(error) => with_error(
            "UPDATE ops.jobs SET status = 'failed', finished_at = clock_timestamp(),
                 error_message = $3, error_file = $4, error_row = $5, error_column = $6
             WHERE id = $1 AND worker_id = $2 AND status = 'running'",
            id,
            worker_id,
            error,
        ),
        Finish::Cancelled(error) => sqlx::query(
            "UPDATE ops.jobs SET status = 'cancelled', finished_at = clock_timestamp(),
                 error_message = $3
             WHERE id = $1 AND worker_id = $2 AND status = 'running'",
        )
        .bind(id)
        .bind(worker_id)
        .bind(error.to_string()),
        Finish::Retry { error, delay } => with_error(
            "UPDATE ops.jobs SET
                 status = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'queued' END,
                 finished_at = CASE WHEN attempt >= max_attempts THEN clock_timestamp() END,
                 run_after = clock_timestamp() + make_interval(secs => $7),
                 worker_id = CASE WHEN attempt >= max_attempts THEN worker_id END,
                 heartbeat_at = CASE WHEN attempt >= max_attempts THEN heartbeat_at END,
                 error_message = $3, error_file = $4, error_row = $5, error_column = $6
             WHERE id = $1 AND worker_id = $2 AND status = 'running'",
            id,
            worker_id,
            error,
        )
        .bind(delay.as_secs_f64()),
        Finish::Release => sqlx::query(
            "UPDATE ops.jobs SET status = 'queued', attempt = greatest(attempt - 1, 0),
                 worker_id = NULL, heartbeat_at = NULL, started_at = NULL,
                 run_after = clock_timestamp()
             WHERE id = $1 AND worker_id = $2 AND status = 'running'",
        )
        .bind(id)
        .bind(worker_id),
    };
    Ok(query.execute(pool).await?.rows_affected() == 1)
}

fn with_error<'q>(
    sql: &'q str,
    id: Uuid,
    worker_id: &'q str,
    error: JobError,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(sql)
        .bind(id)
        .bind(worker_id)
        .bind(error.message)
        .bind(error.file)
        .bind(error.row)
        .bind(error.column)
}

/// A job the reaper took back from a worker that stopped heartbeating.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Reaped {
    pub id: Uuid,
    pub date: NaiveDate,
    pub status: String,
}

/// Requeues running jobs whose heartbeat is older than `stale_after` (their process died
/// or lost the database), or fails them when their attempts are used up.
pub async fn reap_stale(pool: &PgPool, stale_after: Duration) -> Result<Vec<Reaped>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE ops.jobs SET
             status = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'queued' END,
             finished_at = CASE WHEN attempt >= max_attempts THEN clock_timestamp() END,
             error_message = format('worker %s stopped reporting during attempt %s of %s%s',
                 worker_id, attempt, max_attempts,
                 CASE WHEN attempt >= max_attempts THEN '; no attempts left' ELSE '; requeued' END),
             worker_id = CASE WHEN attempt >= max_attempts THEN worker_id END,
             heartbeat_at = CASE WHEN attempt >= max_attempts THEN heartbeat_at END,
             run_after = clock_timestamp()
         WHERE status = 'running' AND heartbeat_at < clock_timestamp() - make_interval(secs => $1)
         RETURNING id, date, status",
    )
    .bind(stale_after.as_secs_f64())
    .fetch_all(pool)
    .await
}
