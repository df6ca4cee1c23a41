//! Load workers: claim a queued job (`FOR UPDATE SKIP LOCKED`), run the load with a
//! heartbeat, record how it ended. Plus the reaper, which takes back the jobs of workers
//! that died.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use loader::{LoadError, LoadProgress};
use sqlx::PgPool;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::catalog::Catalog;
use crate::domain::{Job, JobError};
use crate::intake::without_data_dir;
use crate::lineage::{Lineage, RunState};
use crate::metrics::Metrics;
use crate::queue::lease::{self, Finish, Heartbeat};
use work::{WorkDone, work};

mod work;

/// What every worker of a process shares.
#[derive(Clone, Debug)]
pub struct WorkerContext {
    pub pool: PgPool,
    /// The datasets, each with its source and its loads' options (streams, shrink guard,
    /// audit, retention).
    pub catalog: Catalog,
    pub metrics: Metrics,
    /// Where each run's OpenLineage events go (nowhere without `OPENLINEAGE_URL`).
    pub lineage: Lineage,
    /// Woken when this process queues a job, so that a local idle worker starts at once
    /// instead of at its next poll.
    pub wake: Arc<Notify>,
    pub poll_interval: Duration,
    pub heartbeat_interval: Duration,
    pub stale_after: Duration,
    /// Stop claiming; stop the running load and hand it back.
    pub shutdown: CancellationToken,
}

/// How a run of a job ended, for the worker that ran it; ordered from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunOutcome {
    Succeeded,
    Cancelled,
    /// Not finished here: requeued to be retried, handed back at shutdown, or taken over
    /// by another worker.
    Unfinished,
    Failed,
}

impl RunOutcome {
    /// The exit code of `api run-once` for a run that ended so (see its `--help`).
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Succeeded => 0,
            Self::Failed => 4,
            Self::Cancelled => 5,
            Self::Unfinished => 6,
        }
    }
}

/// Exit code of `api run-once` when no job was queued.
pub const NOTHING_QUEUED: u8 = 3;

/// Why a running load was asked to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StopReason {
    CancelRequested,
    Shutdown,
    Lost,
}

/// Claims and runs jobs until shutdown.
pub async fn run(context: WorkerContext, worker_id: String) {
    tracing::info!(worker = %worker_id, "worker started");
    let _alive = context.metrics.worker_alive();
    let datasets = context.catalog.names();
    while !context.shutdown.is_cancelled() {
        match lease::claim(&context.pool, &worker_id, &datasets).await {
            Ok(Some(job)) => {
                let span = job_span(&job);
                run_job(&context, &worker_id, job).instrument(span).await;
            }
            Ok(None) => idle(&context, context.poll_interval).await,
            Err(error) => {
                tracing::warn!(%error, "could not look for jobs; retrying");
                idle(&context, context.poll_interval.max(Duration::from_secs(1))).await;
            }
        }
    }
    tracing::info!(worker = %worker_id, "worker stopped");
}

/// Claims one queued job and runs it — with `until_empty`, again until none is queued —
/// for a worker process started for the work; returns how each run ended.
pub async fn run_once(
    context: WorkerContext,
    worker_id: String,
    until_empty: bool,
) -> Result<Vec<RunOutcome>, sqlx::Error> {
    let mut outcomes = Vec::new();
    let datasets = context.catalog.names();
    while !context.shutdown.is_cancelled() {
        let Some(job) = lease::claim(&context.pool, &worker_id, &datasets).await? else {
            break;
        };
        let span = job_span(&job);
        outcomes.push(run_job(&context, &worker_id, job).instrument(span).await);
        if !until_empty {
            break;
        }
    }
    Ok(outcomes)
}

/// The span of a job's run: its logs name the job, its dataset, its day and its attempt.
fn job_span(job: &Job) -> tracing::Span {
    tracing::info_span!("job", job_id = %job.id, dataset = %job.dataset, date = %job.date, attempt = job.attempt)
}

async fn idle(context: &WorkerContext, duration: Duration) {
    tokio::select! {
        () = tokio::time::sleep(duration) => {}
        () = context.wake.notified() => {}
        () = context.shutdown.cancelled() => {}
    }
}

async fn run_job(context: &WorkerContext, worker_id: &str, job: Job) -> RunOutcome {
    tracing::info!("job started");
    context.lineage.emit(&job, RunState::Start);
    let started = Instant::now();
    let (result, stop) = run_with_heartbeat(context, worker_id, &job).await;
    let elapsed = started.elapsed();
    let (finish, outcome) = match (&result, stop) {
        // Recorded already, in the swap's own transaction.
        (Ok(done), _) => {
            let WorkDone { rows, files, bytes } = *done;
            tracing::info!(rows, seconds = elapsed.as_secs_f64(), "job succeeded");
            context
                .metrics
                .run_finished(&job.dataset, "succeeded", elapsed, Some(rows));
            let state = RunState::Complete { rows, files, bytes };
            context.lineage.emit(&job, state);
            return RunOutcome::Succeeded;
        }
        (Err(_), Some(StopReason::Lost)) | (Err(LoadError::Fenced { .. }), _) => {
            tracing::warn!(
                "the job was taken back while it ran; leaving it to its new owner, writing nothing"
            );
            context
                .metrics
                .run_finished(&job.dataset, "lost", elapsed, None);
            context.lineage.emit(&job, RunState::Abort);
            return RunOutcome::Unfinished;
        }
        // Whatever the interrupted load reported, the job was not at fault: hand it back.
        (Err(_), Some(StopReason::Shutdown)) => (Finish::Release, "released"),
        (Err(error @ LoadError::Cancelled { .. }), _) => (Finish::Cancelled(error), "cancelled"),
        (Err(error), _) if error.is_transient() => (
            Finish::Retry {
                error: job_error(error, &context.catalog, &job.dataset),
                delay: retry_delay(job.attempt),
            },
            "retried",
        ),
        (Err(error), _) => (
            Finish::Failed(job_error(error, &context.catalog, &job.dataset)),
            "failed",
        ),
    };
    if let Err(error) = &result {
        tracing::warn!(%error, outcome, "job ended");
    }
    if let Err(LoadError::AuditFailed { results, .. }) = &result
        && let Err(error) = lease::record_audits(&context.pool, &job, worker_id, results).await
    {
        tracing::warn!(%error, "could not record the audit's results with the job");
    }
    context
        .metrics
        .run_finished(&job.dataset, outcome, elapsed, None);
    let state = match &finish {
        Finish::Failed(error) | Finish::Retry { error, .. } => RunState::Fail {
            message: error.message.clone(),
        },
        Finish::Cancelled(_) | Finish::Release => RunState::Abort,
    };
    context.lineage.emit(&job, state);
    let ended = match finish {
        Finish::Failed(_) => RunOutcome::Failed,
        Finish::Cancelled(_) => RunOutcome::Cancelled,
        // The last attempt's transient error fails the job.
        Finish::Retry { .. } if job.attempt >= job.max_attempts => RunOutcome::Failed,
        Finish::Release | Finish::Retry { .. } => RunOutcome::Unfinished,
    };
    record_finish(context, worker_id, &job, finish).await;
    ended
}

/// Records how the run ended. A database that is briefly away (a restart) is waited for,
/// up to the stale limit; after that the reaper will requeue the job from its heartbeat.
async fn record_finish(context: &WorkerContext, worker_id: &str, job: &Job, finish: Finish<'_>) {
    let deadline = Instant::now() + context.stale_after;
    loop {
        match lease::finish(&context.pool, job, worker_id, finish.clone()).await {
            Ok(true) => return,
            Ok(false) => {
                tracing::warn!("the job was taken back before its end could be recorded");
                return;
            }
            Err(error) if Instant::now() < deadline && !context.shutdown.is_cancelled() => {
                tracing::warn!(%error, "could not record the end of the job yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(error) => {
                tracing::error!(%error, "could not record the end of the job; the reaper will requeue it");
                return;
            }
        }
    }
}

/// Transient failures back off: 5 s, 10 s, 20 s … at most 5 minutes.
fn retry_delay(attempt: i32) -> Duration {
    let exponent = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(6);
    Duration::from_secs(5 * 2u64.pow(exponent)).min(Duration::from_secs(300))
}

/// The job's record of `error`, naming files relative to the dataset's source.
fn job_error(error: &LoadError, catalog: &Catalog, dataset: &str) -> JobError {
    let Ok(dataset) = catalog.get(dataset) else {
        return JobError {
            message: error.to_string(),
            file: None,
            row: None,
            column: None,
        };
    };
    let source = &dataset.source;
    let input = error.input();
    JobError {
        message: without_data_dir(&error.to_string(), source),
        file: input.map(|i| without_data_dir(&i.file.display().to_string(), source)),
        row: input
            .and_then(|i| i.row)
            .and_then(|r| i64::try_from(r).ok()),
        column: input.and_then(|i| i.column.clone()),
    }
}

/// Runs the job's work (a load, or a rollback) while heartbeating; returns its result (the
/// day's rows, from how many files) and why it was stopped, if it was.
async fn run_with_heartbeat(
    context: &WorkerContext,
    worker_id: &str,
    job: &Job,
) -> (Result<WorkDone, LoadError>, Option<StopReason>) {
    let cancel = CancellationToken::new();
    let latest = Arc::new(Mutex::new(LoadProgress::default()));
    let on_progress = {
        let latest = Arc::clone(&latest);
        move |p: LoadProgress| {
            if let Ok(mut latest) = latest.lock() {
                *latest = p;
            }
        }
    };
    let load = work(context, worker_id, job, &on_progress, &cancel);
    tokio::pin!(load);
    // The heartbeat is a task of its own: a slow one (a locked job row, a slow server)
    // must never keep the load from being polled, least of all while its swap holds the
    // day's locks. It reports why the load should stop through `reasons`.
    let (reasons, mut reason) = watch::channel(None::<StopReason>);
    let heartbeat = tokio::spawn(heartbeat(
        context.clone(),
        worker_id.to_owned(),
        job.id,
        latest,
        cancel.clone(),
        reasons,
    ));
    let mut stop = None;
    let result = loop {
        tokio::select! {
            result = &mut load => break result,
            () = context.shutdown.cancelled(), if stop.is_none() => {
                tracing::info!("shutting down: stopping the load and handing the job back");
                stop = Some(StopReason::Shutdown);
                cancel.cancel();
            }
            Ok(()) = reason.changed(), if stop.is_none() => {
                stop = *reason.borrow();
            }
        }
    };
    heartbeat.abort();
    (result, stop.or(*reason.borrow()))
}

/// Reports progress and liveness every `heartbeat_interval` until aborted; when the table
/// says the job was cancelled or is no longer ours, or the database stays away past the
/// stale limit, it sends the reason and cancels the load.
async fn heartbeat(
    context: WorkerContext,
    worker_id: String,
    id: uuid::Uuid,
    latest: Arc<Mutex<LoadProgress>>,
    cancel: CancellationToken,
    reasons: watch::Sender<Option<StopReason>>,
) {
    let mut ticks = tokio::time::interval(context.heartbeat_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heartbeat = Instant::now();
    loop {
        ticks.tick().await;
        let progress = latest.lock().map(|p| *p).unwrap_or_default();
        let reason = match lease::heartbeat(&context.pool, id, &worker_id, progress).await {
            Ok(beat) => {
                last_heartbeat = Instant::now();
                match beat {
                    Heartbeat::Continue => None,
                    Heartbeat::CancelRequested => Some(StopReason::CancelRequested),
                    Heartbeat::Lost => Some(StopReason::Lost),
                }
            }
            Err(error) => {
                tracing::warn!(%error, "heartbeat failed");
                // Past the stale limit another worker may have taken the job: stop rather
                // than risk two owners.
                (last_heartbeat.elapsed() > context.stale_after).then_some(StopReason::Lost)
            }
        };
        if let Some(reason) = reason
            && reasons.borrow().is_none()
        {
            tracing::info!(?reason, "stopping the load");
            reasons.send_replace(Some(reason));
            cancel.cancel();
        }
    }
}

/// Takes back, every few seconds, the jobs of workers that stopped heartbeating.
pub async fn reap(pool: PgPool, stale_after: Duration, shutdown: CancellationToken) {
    let every = (stale_after / 3).clamp(Duration::from_millis(200), Duration::from_secs(10));
    loop {
        match lease::reap_stale(&pool, stale_after).await {
            Ok(reaped) => {
                for job in reaped {
                    tracing::warn!(job_id = %job.id, date = %job.date, status = job.status.as_str(), "took back a job whose worker stopped reporting");
                }
            }
            Err(error) => tracing::warn!(%error, "reaper could not check running jobs"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_are_capped() {
        assert_eq!(retry_delay(1), Duration::from_secs(5));
        assert_eq!(retry_delay(2), Duration::from_secs(10));
        assert_eq!(retry_delay(50), Duration::from_secs(300));
    }
}
