//! Pruning: finished jobs past their retention go, with their attempts; the job that
//! loaded a day's current rows stays, as do each day's latest job and recent and active
//! jobs; idempotency keys go after 24 hours.

use std::time::Duration;

use api::housekeeping::prune;
use sqlx::PgPool;
use uuid::Uuid;

/// A job for `date` in `status` that ended (or, when active, was created) `days_ago`.
async fn job(pool: &PgPool, date: &str, status: &str, days_ago: i32) -> Uuid {
    let id = Uuid::new_v4();
    let finished = !matches!(status, "queued" | "running");
    sqlx::query(
        "INSERT INTO ops.jobs (id, date, status, worker_id, heartbeat_at, created_at, finished_at)
         VALUES ($1, $2::date, $3, CASE WHEN $3 = 'running' THEN 'w' END,
                 CASE WHEN $3 = 'running' THEN now() END,
                 now() - make_interval(days => $4),
                 CASE WHEN $5 THEN now() - make_interval(days => $4) END)",
    )
    .bind(id)
    .bind(date)
    .bind(status)
    .bind(days_ago)
    .bind(finished)
    .execute(pool)
    .await
    .expect("insert job");
    id
}

async fn remaining(pool: &PgPool) -> Vec<Uuid> {
    sqlx::query_scalar("SELECT id FROM ops.jobs ORDER BY created_at")
        .fetch_all(pool)
        .await
        .expect("jobs")
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn old_finished_jobs_go_but_a_days_loader_its_latest_and_active_jobs_stay(pool: PgPool) {
    let old_failed = job(&pool, "2023-01-01", "failed", 40).await;
    let old_loader = job(&pool, "2023-01-02", "succeeded", 40).await;
    let old_running = job(&pool, "2023-01-03", "running", 40).await;
    let old_latest = job(&pool, "2023-01-06", "failed", 39).await;
    let later_of_the_first = job(&pool, "2023-01-01", "cancelled", 35).await;
    let recent = job(&pool, "2023-01-04", "succeeded", 2).await;
    sqlx::query(
        "INSERT INTO dwh.day_loads (day, partition, rows, files, bytes, job_id)
         VALUES ('2023-01-02', 'data_sample_p20230102', 1, 1, 1, $1)",
    )
    .bind(old_loader)
    .execute(&pool)
    .await
    .expect("the day's load record");
    sqlx::query("INSERT INTO ops.job_attempts (job_id, attempt, worker_id, started_at) VALUES ($1, 1, 'w', now())")
        .bind(old_failed)
        .execute(&pool)
        .await
        .expect("an attempt");
    sqlx::query(
        "INSERT INTO ops.idempotency (key, request, created_at)
         VALUES ('old', 'date=2023-01-01', now() - interval '25 hours'), ('new', 'date=2023-01-04', now())",
    )
    .execute(&pool)
    .await
    .expect("keys");

    let thirty_days = Duration::from_secs(30 * 24 * 60 * 60);
    assert_eq!(
        prune(&pool, Some(thirty_days)).await.expect("prune"),
        (1, 1)
    );
    assert_eq!(
        remaining(&pool).await,
        [
            old_loader,
            old_running,
            old_latest,
            later_of_the_first,
            recent
        ],
        "the old failed job of 2023-01-01 goes: a later one is its day's latest"
    );
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM ops.job_attempts")
        .fetch_one(&pool)
        .await
        .expect("attempts");
    assert_eq!(attempts, 0, "a pruned job's attempts go with it");
    let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM ops.idempotency")
        .fetch_all(&pool)
        .await
        .expect("keys");
    assert_eq!(keys, ["new"]);

    // JOB_RETENTION_DAYS=0 keeps every job.
    job(&pool, "2023-01-05", "cancelled", 400).await;
    assert_eq!(prune(&pool, None).await.expect("prune").0, 0);
    assert_eq!(remaining(&pool).await.len(), 6);
}
