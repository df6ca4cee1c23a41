//! What running a job does: a load of its dataset's day, or a rollback of the day to the
//! version it names, with the options of the job's dataset.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use loader::{
    LoadError, LoadOptions, LoadProgress, RollbackOptions, load_dataset_day, rollback_day_of,
};
use tokio_util::sync::CancellationToken;

use super::WorkerContext;
use crate::catalog::ServedDataset;
use crate::domain::Job;
use crate::queue::lease;

/// What a job's work did: the day's rows now, and the files (and their bytes) a load read
/// them from (none for a rollback).
#[derive(Clone, Copy, Debug)]
pub(super) struct WorkDone {
    pub(super) rows: u64,
    pub(super) files: u64,
    pub(super) bytes: u64,
}

/// The job's work: a rollback to the version it names, or a load of its day, of the
/// job's dataset.
pub(super) fn work<'a>(
    context: &'a WorkerContext,
    worker_id: &str,
    job: &'a Job,
    on_progress: &'a (dyn Fn(LoadProgress) + Send + Sync),
    cancel: &'a CancellationToken,
) -> BoxFuture<'a, Result<WorkDone, LoadError>> {
    let swap_check = Some(lease::success_in_swap(job, worker_id));
    let fence = Some(lease::fence(job, worker_id));
    let dataset = match context.catalog.get(&job.dataset) {
        Ok(dataset) => Arc::clone(dataset),
        // Claimed only for a dataset this process declares: not reached.
        Err(error) => {
            let message = error.to_string();
            return async move { Err(LoadError::internal_without_source(message)) }.boxed();
        }
    };
    if let Some(version) = job.rollback_to {
        let options = RollbackOptions {
            swap_check,
            fence,
            retention: dataset.options.retention,
            ..RollbackOptions::default()
        };
        return async move {
            let table = dataset_table(&context.pool, &dataset).await?;
            let report =
                rollback_day_of(&context.pool, &table, job.date, version, &options, cancel).await?;
            let rows = u64::try_from(report.rows).unwrap_or(0);
            Ok(WorkDone {
                rows,
                files: 0,
                bytes: 0,
            })
        }
        .boxed();
    }
    let options = LoadOptions {
        swap_check,
        fence,
        allow_partial: job.allow_partial,
        force: job.force,
        job_id: Some(job.id),
        ..dataset.options.clone()
    };
    async move {
        let (pool, source, date) = (&context.pool, &dataset.source, job.date);
        let declared = &dataset.dataset;
        let report =
            load_dataset_day(pool, declared, source, date, &options, on_progress, cancel).await?;
        Ok(WorkDone {
            rows: report.rows,
            files: report.files,
            bytes: report.source_bytes,
        })
    }
    .boxed()
}

/// The table a rollback swaps in: a dataset's must exist (a day with kept versions was
/// loaded, which made it).
async fn dataset_table(
    pool: &sqlx::PgPool,
    dataset: &ServedDataset,
) -> Result<Arc<loader::Table>, LoadError> {
    let mut conn = pool.acquire().await?;
    loader::find_table(&mut conn, &dataset.dataset)
        .await?
        .ok_or_else(|| {
            LoadError::internal_without_source(format!(
                "dataset {}: its table {} does not exist",
                dataset.name(),
                dataset.dataset.table_display()
            ))
        })
}
