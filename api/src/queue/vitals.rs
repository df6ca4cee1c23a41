//! What the jobs table says about the service's health, for its metrics: jobs that failed
//! lately, the queue's oldest runnable job, and how long running jobs have been silent.
//! Read at scrape time from the table, so every instance reports the same.

use sqlx::PgPool;

/// Per dataset (and trigger), as the jobs table has them now.
#[derive(Debug, Default)]
pub struct QueueVitals {
    /// Jobs that ended `failed` in the last hour: (dataset, trigger, count).
    pub failed_last_hour: Vec<(String, String, i64)>,
    /// How long the oldest runnable queued job has waited (from when it could first run:
    /// a retry's back-off is not waiting), in seconds: (dataset, seconds).
    pub oldest_runnable: Vec<(String, i64)>,
    /// The longest silence of a running job's heartbeat, in seconds: (dataset, seconds).
    pub heartbeat_age: Vec<(String, i64)>,
}

pub async fn vitals(pool: &PgPool) -> Result<QueueVitals, sqlx::Error> {
    let failed_last_hour = sqlx::query_as(
        "SELECT dataset, trigger, count(*) FROM ops.jobs
         WHERE status = 'failed' AND finished_at > now() - interval '1 hour'
         GROUP BY dataset, trigger",
    )
    .fetch_all(pool)
    .await?;
    let oldest_runnable = sqlx::query_as(
        "SELECT dataset,
                floor(extract(epoch FROM now() - min(greatest(created_at, run_after))))::bigint
         FROM ops.jobs WHERE status = 'queued' AND run_after <= now()
         GROUP BY dataset",
    )
    .fetch_all(pool)
    .await?;
    let heartbeat_age = sqlx::query_as(
        "SELECT dataset, floor(extract(epoch FROM now() - min(heartbeat_at)))::bigint
         FROM ops.jobs WHERE status = 'running'
         GROUP BY dataset",
    )
    .fetch_all(pool)
    .await?;
    Ok(QueueVitals {
        failed_last_hour,
        oldest_runnable,
        heartbeat_age,
    })
}
