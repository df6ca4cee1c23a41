//! Fencing: a worker paused mid-load (SIGSTOP) loses its job to another instance once its
//! heartbeat is stale. The reaper terminates the paused run's sessions before it requeues
//! the job, so when the paused worker wakes up (SIGCONT) it can write nothing: it logs
//! that it lost the job, and the day holds the new rows exactly once.

use crate::helpers::*;
use crate::process::{ApiProcess, database_url, job_row, wait_until};
use sqlx::PgPool;
use uuid::Uuid;

async fn queue_directly(pool: &PgPool, date: &str) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO ops.jobs (id, date, max_attempts, allow_partial) VALUES ($1, $2::date, 5, true)",
    )
    .bind(id)
    .bind(date)
    .execute(pool)
    .await
    .expect("queue");
    id
}

async fn attempts(pool: &PgPool, id: Uuid) -> Vec<(i32, String, Option<String>)> {
    sqlx::query_as(
        "SELECT attempt, worker_id, outcome FROM ops.job_attempts WHERE job_id = $1 ORDER BY run",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .expect("attempts")
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_paused_worker_that_wakes_up_after_losing_its_job_writes_nothing(pool: PgPool) {
    let url = database_url(&pool).await;
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 02:59");
    let logs = tempfile::tempdir().expect("log dir");
    let first_log = logs.path().join("first.log");
    let id = queue_directly(&pool, "2023-01-01").await;

    // The swap is held until the first worker is paused, so it is surely mid-load then.
    let reader = block_swaps(&pool).await;
    let first = ApiProcess::start(&url, data.path(), &first_log);
    wait_until("the first worker has copied a third", async || {
        let job = job_row(&pool, id).await;
        job.status == "running"
            && job
                .files_total
                .is_some_and(|total| job.files_done * 3 >= total)
    })
    .await;
    first.pause();
    let paused = job_row(&pool, id).await;
    reader.rollback().await.expect("release the swap");
    assert_eq!((paused.status.as_str(), paused.attempt), ("running", 1));
    assert!(
        paused.files_done < paused.files_total.expect("total"),
        "paused while copying: {paused:?}"
    );
    let first_worker = paused.worker_id.expect("a worker runs it");

    let second = ApiProcess::start(&url, data.path(), &logs.path().join("second.log"));
    wait_until("the second instance has loaded the day", async || {
        job_row(&pool, id).await.status == "succeeded"
    })
    .await;
    let done = job_row(&pool, id).await;
    assert_eq!(done.attempt, 2);
    assert_ne!(done.worker_id.as_deref(), Some(first_worker.as_str()));
    let loaded = checksum_of_day(&pool, "2023-01-01").await;

    first.resume();
    wait_until("the first worker says it lost the job", async || {
        std::fs::read_to_string(&first_log).is_ok_and(|log| log.contains("taken back"))
    })
    .await;
    // Give it time to do anything it still might; then nothing it did may show.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let after = job_row(&pool, id).await;
    assert_eq!(
        (after.status.as_str(), after.attempt, after.worker_id),
        ("succeeded", 2, done.worker_id)
    );
    assert_eq!(
        rows_of_day(&pool, "2023-01-01").await,
        180 * rows_per_file()
    );
    assert_eq!(checksum_of_day(&pool, "2023-01-01").await, loaded);
    let runs = attempts(&pool, id).await;
    let outcomes: Vec<_> = runs.iter().map(|r| (r.0, r.2.as_deref())).collect();
    assert_eq!(outcomes, [(1, Some("requeued")), (2, Some("succeeded"))]);
    assert_eq!(runs[0].1, first_worker);
    wait_until("no staging table is left", async || {
        leftover_tables(&pool).await.is_empty()
    })
    .await;
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM ops.job_backends")
        .fetch_one(&pool)
        .await
        .expect("sessions");
    assert_eq!(sessions, 0, "ended runs forget their sessions");
    first.kill();
    second.kill();
}
