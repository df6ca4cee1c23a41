//! The workers' side of the queue: a worker's lease on a job. It claims a queued job
//! (`FOR UPDATE SKIP LOCKED`), proves it is alive with heartbeats, and records how the
//! run ended; the reaper takes back the jobs of workers that stopped heartbeating. Every
//! write is conditional on the job still being `running` under the worker's id.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use loader::{
    AuditResult, Fence, LoadError, LoadProgress, Standing, SwapCheck, SwapSummary, SwapVerdict,
};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{COLUMNS, JobRow, fetch_one_job};
use crate::domain::{AuditFinding, Job, JobError, JobStatus};
use crate::ledger;

/// Takes the oldest runnable queued job of `datasets` (this process's: another dataset's
/// jobs are left to others) for `worker_id`; a dataset with fewer loads running goes
/// first, so that a backfill of one dataset never keeps every worker from another's days.
pub async fn claim(
    pool: &PgPool,
    worker_id: &str,
    datasets: &[String],
) -> Result<Option<Job>, sqlx::Error> {
    let sql = format!(
        "UPDATE ops.jobs SET status = 'running', attempt = attempt + 1, worker_id = $1,
             started_at = clock_timestamp(), heartbeat_at = clock_timestamp(),
             files_done = 0, rows_done = 0, error_message = NULL, error_file = NULL,
             error_row = NULL, error_column = NULL, audits = NULL
         WHERE id = (
             SELECT q.id FROM ops.jobs q
             WHERE q.status = 'queued' AND q.run_after <= clock_timestamp()
               AND q.dataset = ANY($2)
             ORDER BY (SELECT count(*) FROM ops.jobs r
                       WHERE r.dataset = q.dataset AND r.status = 'running'),
                      q.run_after, q.created_at
             LIMIT 1
             FOR UPDATE SKIP LOCKED
         )
         RETURNING {COLUMNS}"
    );
    let query = sqlx::query_as::<_, JobRow>(&sql)
        .bind(worker_id)
        .bind(datasets);
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

/// The check the worker's load runs in its swap transaction: the job becomes `succeeded`
/// in the transaction that replaces the day, so one is true if and only if the other is,
/// whatever happens at COMMIT; and only while the job is still this worker's run (worker
/// id and attempt) and no cancel was asked for. Otherwise the swap rolls back. The file
/// ledger records a load's job as what loaded the day's files in the same transaction (a
/// rollback loads no files: the ledger keeps describing the files, so the watcher does
/// not take the rolled-back day for changed and reload it).
pub fn success_in_swap(job: &Job, worker_id: &str) -> SwapCheck {
    let (id, date, attempt, worker_id) = (job.id, job.date, job.attempt, worker_id.to_owned());
    let dataset = job.dataset.clone();
    let loads_files = job.rollback_to.is_none();
    SwapCheck(Arc::new(move |conn, summary| {
        let (worker_id, dataset) = (worker_id.clone(), dataset.clone());
        Box::pin(async move {
            let verdict = succeed(conn, id, &worker_id, attempt, summary).await?;
            if verdict == SwapVerdict::Commit && loads_files {
                ledger::loaded_by_job(conn, &dataset, date, id).await?;
            }
            Ok(verdict)
        })
    }))
}

async fn succeed(
    conn: &mut PgConnection,
    id: Uuid,
    worker_id: &str,
    attempt: i32,
    summary: SwapSummary,
) -> Result<SwapVerdict, sqlx::Error> {
    let rows = to_i64(summary.rows);
    let audits = (!summary.audits.is_empty()).then(|| audits_json(&summary.audits));
    let updated = sqlx::query(
        "UPDATE ops.jobs SET status = 'succeeded', finished_at = clock_timestamp(),
             heartbeat_at = clock_timestamp(), rows_loaded = $4, replaced_rows = $5,
             files_done = $6, files_total = $6, rows_done = $4, rows_total = $4, audits = $7
         WHERE id = $1 AND worker_id = $2 AND attempt = $3 AND status = 'running'
           AND NOT cancel_requested",
    )
    .bind(id)
    .bind(worker_id)
    .bind(attempt)
    .bind(rows)
    .bind(summary.replaced_rows)
    .bind(to_i64(summary.files))
    .bind(audits)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 1 {
        return Ok(SwapVerdict::Commit);
    }
    let now: Option<(JobStatus, Option<String>, i32, bool)> = sqlx::query_as(
        "SELECT status, worker_id, attempt, cancel_requested FROM ops.jobs WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match now {
        Some((status, Some(owner), now_attempt, true))
            if status == JobStatus::Running && owner == worker_id && now_attempt == attempt =>
        {
            SwapVerdict::Cancelled
        }
        Some((status, owner, now_attempt, _)) => SwapVerdict::Refused(format!(
            "job {id} is no longer this run's (it is {}, attempt {now_attempt}, worker {})",
            status.as_str(),
            owner.as_deref().unwrap_or("none")
        )),
        None => SwapVerdict::Refused(format!("job {id} no longer exists")),
    })
}

/// The run's fence: every connection the load writes through is recorded for the run, so
/// that the reaper can terminate it before it gives the job to another worker; and the
/// load may write only while the job is still this run's (worker id and attempt). The
/// job row is locked `FOR KEY SHARE`: a check made while the reaper holds the row (`FOR
/// UPDATE`) waits for it and then sees the job gone, so every session the reaper does not
/// terminate is refused. Ordinary updates of the row (heartbeats, a cancel) take no lock
/// this one waits for.
pub fn fence(job: &Job, worker_id: &str) -> Fence {
    let (id, attempt, worker_id) = (job.id, job.attempt, worker_id.to_owned());
    Fence(Arc::new(move |conn| {
        let worker_id = worker_id.clone();
        Box::pin(async move { enlist(conn, id, &worker_id, attempt).await })
    }))
}

async fn enlist(
    conn: &mut PgConnection,
    id: Uuid,
    worker_id: &str,
    attempt: i32,
) -> Result<Standing, sqlx::Error> {
    let enlisted: Option<i32> = sqlx::query_scalar(
        "WITH run AS (
             SELECT id FROM ops.jobs
             WHERE id = $1 AND worker_id = $2 AND attempt = $3 AND status = 'running'
             FOR KEY SHARE
         )
         INSERT INTO ops.job_backends (job_id, attempt, pid, backend_start)
         SELECT run.id, $3, a.pid, a.backend_start
         FROM run JOIN pg_stat_activity a ON a.pid = pg_backend_pid()
         ON CONFLICT (job_id, attempt, pid) DO UPDATE SET backend_start = EXCLUDED.backend_start
         RETURNING pid",
    )
    .bind(id)
    .bind(worker_id)
    .bind(attempt)
    .fetch_optional(conn)
    .await?;
    Ok(match enlisted {
        Some(_) => Standing::Owner,
        None => Standing::Lost(format!(
            "job {id} is no longer attempt {attempt} of worker {worker_id}"
        )),
    })
}

fn audits_json(results: &[AuditResult]) -> sqlx::types::Json<Vec<AuditFinding>> {
    sqlx::types::Json(results.iter().cloned().map(AuditFinding::from).collect())
}

/// Records the results of an audit that refused the load, with the run's job (the run
/// then fails, naming the failed checks).
pub async fn record_audits(
    pool: &PgPool,
    job: &Job,
    worker_id: &str,
    results: &[AuditResult],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE ops.jobs SET audits = $4
         WHERE id = $1 AND worker_id = $2 AND status = 'running' AND attempt = $3",
    )
    .bind(job.id)
    .bind(worker_id)
    .bind(job.attempt)
    .bind(audits_json(results))
    .execute(pool)
    .await
    .map(|_| ())
}

/// How a run ended, as the worker reports it.
#[derive(Debug, Clone)]
pub enum Finish<'a> {
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

/// Records the end of a run. Returns false if the job was no longer this run's.
pub async fn finish(
    pool: &PgPool,
    job: &Job,
    worker_id: &str,
    how: Finish<'_>,
) -> Result<bool, sqlx::Error> {
    let id = job.id;
    let query = match how {
        Finish::Failed(error) => with_error(
            "UPDATE ops.jobs SET status = 'failed', finished_at = clock_timestamp(),
                 error_message = $3, error_file = $4, error_row = $5, error_column = $6
             WHERE id = $1 AND worker_id = $2 AND status = 'running' AND attempt = $7",
            id,
            worker_id,
            error,
        )
        .bind(job.attempt),
        Finish::Cancelled(error) => sqlx::query(
            "UPDATE ops.jobs SET status = 'cancelled', finished_at = clock_timestamp(),
                 error_message = $3
             WHERE id = $1 AND worker_id = $2 AND status = 'running' AND attempt = $4",
        )
        .bind(id)
        .bind(worker_id)
        .bind(error.to_string())
        .bind(job.attempt),
        Finish::Retry { error, delay } => with_error(
            "UPDATE ops.jobs SET
                 status = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'queued' END,
                 finished_at = CASE WHEN attempt >= max_attempts THEN clock_timestamp() END,
                 run_after = clock_timestamp() + make_interval(secs => $7),
                 worker_id = CASE WHEN attempt >= max_attempts THEN worker_id END,
                 heartbeat_at = CASE WHEN attempt >= max_attempts THEN heartbeat_at END,
                 error_message = $3, error_file = $4, error_row = $5, error_column = $6
             WHERE id = $1 AND worker_id = $2 AND status = 'running' AND attempt = $8",
            id,
            worker_id,
            error,
        )
        .bind(delay.as_secs_f64())
        .bind(job.attempt),
        Finish::Release => sqlx::query(
            "UPDATE ops.jobs SET status = 'queued', attempt = greatest(attempt - 1, 0),
                 worker_id = NULL, heartbeat_at = NULL, started_at = NULL,
                 run_after = clock_timestamp()
             WHERE id = $1 AND worker_id = $2 AND status = 'running' AND attempt = $3",
        )
        .bind(id)
        .bind(worker_id)
        .bind(job.attempt),
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
    /// `queued` again, or `failed` when its attempts are used up.
    pub status: JobStatus,
}

/// Requeues running jobs whose heartbeat is older than `stale_after` (their process died,
/// lost the database or is paused), or fails them when their attempts are used up. The
/// sessions their runs wrote through are terminated first, in the same transaction: a
/// paused worker that wakes up finds its connections gone (and the day's lock it held
/// freed) before anyone else can claim the job.
pub async fn reap_stale(pool: &PgPool, stale_after: Duration) -> Result<Vec<Reaped>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let stale: Vec<(Uuid, i32)> = sqlx::query_as(
        "SELECT id, attempt FROM ops.jobs
         WHERE status = 'running' AND heartbeat_at < clock_timestamp() - make_interval(secs => $1)
         FOR UPDATE SKIP LOCKED",
    )
    .bind(stale_after.as_secs_f64())
    .fetch_all(&mut *tx)
    .await?;
    if stale.is_empty() {
        return Ok(Vec::new());
    }
    let (ids, attempts): (Vec<Uuid>, Vec<i32>) = stale.into_iter().unzip();
    terminate_runs(&mut tx, &ids, &attempts).await?;
    let reaped = sqlx::query_as(
        "UPDATE ops.jobs SET
             status = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'queued' END,
             finished_at = CASE WHEN attempt >= max_attempts THEN clock_timestamp() END,
             error_message = format('worker %s stopped reporting during attempt %s of %s%s',
                 worker_id, attempt, max_attempts,
                 CASE WHEN attempt >= max_attempts THEN '; no attempts left' ELSE '; requeued' END),
             worker_id = CASE WHEN attempt >= max_attempts THEN worker_id END,
             heartbeat_at = CASE WHEN attempt >= max_attempts THEN heartbeat_at END,
             run_after = clock_timestamp()
         WHERE id = ANY($1)
         RETURNING id, date, status",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(reaped)
}

/// Terminates the sessions the given runs wrote through, waiting up to 5 s for each to
/// end (its locks are released when it has). A session that has already ended, or whose
/// pid now belongs to another session, is left alone.
async fn terminate_runs(
    conn: &mut PgConnection,
    ids: &[Uuid],
    attempts: &[i32],
) -> Result<(), sqlx::Error> {
    let terminated: Vec<i32> = sqlx::query_scalar(
        // MATERIALIZED: the sessions are chosen first; a planner free to push the
        // terminate down to the scan of pg_stat_activity could call it on any session.
        "WITH doomed AS MATERIALIZED (
             SELECT a.pid FROM ops.job_backends b
             JOIN unnest($1::uuid[], $2::int[]) AS run (job_id, attempt) USING (job_id, attempt)
             JOIN pg_stat_activity a ON a.pid = b.pid AND a.backend_start = b.backend_start
             WHERE a.pid <> pg_backend_pid()
         )
         SELECT pid FROM doomed WHERE pg_terminate_backend(pid, 5000)",
    )
    .bind(ids)
    .bind(attempts)
    .fetch_all(&mut *conn)
    .await?;
    if !terminated.is_empty() {
        tracing::warn!(sessions = ?terminated, "terminated the sessions of runs that stopped reporting");
    }
    Ok(())
}
