//! Forgetting what is no longer needed, so that the `ops` tables stay small however long
//! the service runs: finished jobs past their retention (with their attempts),
//! idempotency keys past their 24 hours, and kept versions of days past theirs (which
//! also age out between loads). Every instance does it, hourly; the deletes are
//! idempotent, so instances doing it at once only repeat each other.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::catalog::{Catalog, ServedDataset};
use crate::idempotency;

const EVERY: Duration = Duration::from_secs(60 * 60);
/// Rows per delete: short transactions, whatever the backlog.
const BATCH: i64 = 1000;

/// Prunes now, then every hour, until shutdown.
pub async fn run(
    pool: PgPool,
    job_retention: Option<Duration>,
    catalog: Catalog,
    shutdown: CancellationToken,
) {
    loop {
        if let Err(error) = prune(&pool, job_retention).await {
            tracing::warn!(%error, "could not prune old jobs and idempotency keys; trying again in an hour");
        }
        for dataset in catalog.all() {
            prune_dataset(&pool, dataset).await;
        }
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// A dataset's kept versions past its retention, and the leaves swaps retired for days
/// not loaded again since (both log what they drop). A declared dataset whose table does
/// not exist yet has neither.
async fn prune_dataset(pool: &PgPool, dataset: &ServedDataset) {
    let name = dataset.name();
    let table = match dataset.table(pool).await {
        Ok(Some(table)) => table,
        Ok(None) => return,
        Err(error) => {
            return tracing::warn!(%error, dataset = name, "could not find the dataset's table to prune");
        }
    };
    let retention = dataset.options.retention;
    if let Err(error) = loader::prune_versions_of(pool, &table, retention).await {
        tracing::warn!(%error, dataset = name, "could not prune the days' kept versions; trying again in an hour");
    }
    if let Err(error) = loader::collect_garbage_of(pool, &table).await {
        tracing::warn!(%error, dataset = name, "could not drop retired leaves; trying again in an hour");
    }
}

/// One round: returns the jobs and the keys it deleted.
pub async fn prune(
    pool: &PgPool,
    job_retention: Option<Duration>,
) -> Result<(u64, u64), sqlx::Error> {
    let jobs = match job_retention {
        Some(keep) => prune_jobs(pool, keep).await?,
        None => 0,
    };
    let keys = idempotency::prune(pool).await?;
    if jobs > 0 || keys > 0 {
        tracing::info!(jobs, idempotency_keys = keys, "pruned");
    }
    Ok((jobs, keys))
}

/// Deletes the jobs that ended more than `keep` ago, but never the job that loaded a
/// day's current rows (`dwh.day_loads.job_id`: the lineage of the data stays readable),
/// nor a day's latest job (what `GET /days` reports, and what tells the watcher that a
/// day's files were already acted on: without it, a day whose `auto` job failed would be
/// queued again once that job was pruned).
async fn prune_jobs(pool: &PgPool, keep: Duration) -> Result<u64, sqlx::Error> {
    let mut deleted = 0;
    loop {
        let batch = sqlx::query(
            "DELETE FROM ops.jobs WHERE id IN (
                 SELECT j.id FROM ops.jobs j
                 WHERE j.finished_at < clock_timestamp() - make_interval(secs => $1)
                   AND NOT EXISTS (SELECT 1 FROM dwh.day_loads d WHERE d.job_id = j.id)
                   AND EXISTS (SELECT 1 FROM ops.jobs later
                               WHERE later.dataset = j.dataset AND later.date = j.date
                                 AND later.created_at > j.created_at)
                 LIMIT $2
             )",
        )
        .bind(keep.as_secs_f64())
        .bind(BATCH)
        .execute(pool)
        .await?
        .rows_affected();
        deleted += batch;
        if batch < BATCH as u64 {
            return Ok(deleted);
        }
    }
}
