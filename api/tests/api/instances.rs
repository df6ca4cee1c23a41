//! Several instances on one database: a date never runs twice, a stopped instance hands
//! its job back, and the reaper takes back the jobs of workers that died.

use api::domain::JobStatus;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::*;

const DAY: &str = "2023-01-01";

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn two_instances_never_run_one_date_twice(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:09");
    let one = spawn_app(&pool, data.path()).await;
    let two = spawn_app(&pool, data.path()).await;
    // The job may not finish during the burst (then a later POST could rightly queue the
    // day again): its load waits at the swap until the burst is over.
    let blocker = block_swaps(&pool).await;

    let posts = (0..100).map(|i| {
        let app = if i % 2 == 0 { &one } else { &two };
        app.client
            .post(app.url("/jobs?date=2023-01-01&allow_partial=true"))
            .send()
    });
    let statuses: Vec<u16> = futures::future::join_all(posts)
        .await
        .into_iter()
        .map(|r| r.expect("response").status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        99,
        "{statuses:?}"
    );

    blocker.rollback().await.expect("let the swap go");

    let jobs: Value = one.get("/jobs").await.json().await.expect("json");
    let id: uuid::Uuid = jobs["jobs"][0]["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    let done = two.wait_until_final(id).await;
    assert_eq!(done.status, JobStatus::Succeeded);
    assert_eq!(done.attempt, 1);
    assert_eq!(rows_of_day(&pool, DAY).await, 10 * rows_per_file());
    let total = job_count(&pool).await;
    assert_eq!(total, 1);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn shutdown_hands_a_running_job_back_and_another_instance_finishes_it(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:09");
    let first = spawn_app(&pool, data.path()).await;
    let reader = block_swaps(&pool).await;
    let job = first.queue(DAY).await;
    wait_until_copied(&first, job.id).await;
    first.stop().await;

    let (status, attempt, worker): (String, i32, Option<String>) =
        sqlx::query_as("SELECT status, attempt, worker_id FROM ops.jobs WHERE id = $1")
            .bind(job.id)
            .fetch_one(&pool)
            .await
            .expect("job row");
    assert_eq!((status.as_str(), attempt, worker), ("queued", 0, None));
    assert_eq!(rows_of_day(&pool, DAY).await, 0);
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
    reader.rollback().await.expect("release");

    let second = spawn_app(&pool, data.path()).await;
    let done = second.wait_until_final(job.id).await;
    assert_eq!(done.status, JobStatus::Succeeded);
    assert_eq!(done.attempt, 1);
    assert_eq!(rows_of_day(&pool, DAY).await, 10 * rows_per_file());
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn the_reaper_requeues_a_job_whose_worker_died(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:01");
    let id = uuid::Uuid::new_v4();
    // Queued, then claimed by a worker that died at once (as a claim would set it).
    sqlx::raw_sql(&format!(
        "INSERT INTO ops.jobs (id, date, allow_partial) VALUES ('{id}', '2023-01-01', true);
         UPDATE ops.jobs SET status = 'running', attempt = 1, worker_id = 'dead-host:1:abc',
             started_at = now() - interval '5 min', heartbeat_at = now() - interval '5 min'
         WHERE id = '{id}';"
    ))
    .execute(&pool)
    .await
    .expect("insert");
    let app = spawn_app_with(&pool, data.path(), |s| s.workers.stale_after_secs = 1).await;

    let done = app.wait_until_final(id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_eq!(done.attempt, 2);
    // Both runs are kept: the dead one with the reaper's reason.
    let attempts = done.attempts.expect("GET /jobs/{id} lists the attempts");
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(
        (
            attempts[0].attempt,
            attempts[0].worker_id.as_str(),
            attempts[0].outcome.as_deref()
        ),
        (1, "dead-host:1:abc", Some("requeued"))
    );
    let reason = attempts[0].error.as_ref().expect("why").message.as_str();
    assert_eq!(
        reason,
        "worker dead-host:1:abc stopped reporting during attempt 1 of 3; requeued"
    );
    assert_eq!(
        (attempts[1].attempt, attempts[1].outcome.as_deref()),
        (2, Some("succeeded"))
    );
    assert!(attempts[1].error.is_none() && attempts[1].finished_at.is_some());
    assert_eq!(rows_of_day(&pool, DAY).await, 2 * rows_per_file());
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_job_out_of_attempts_fails_with_a_reason(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let id = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO ops.jobs (id, date, status, attempt, max_attempts, worker_id, started_at, heartbeat_at)
         VALUES ($1, '2023-01-01', 'running', 3, 3, 'dead-host:1:abc', now() - interval '5 min', now() - interval '5 min')",
    )
    .bind(id)
    .execute(&pool)
    .await
    .expect("insert");
    let app = spawn_app_with(&pool, data.path(), |s| s.workers.stale_after_secs = 1).await;

    let done = app.wait_until_final(id).await;
    assert_eq!(done.status, JobStatus::Failed);
    let message = done.error.expect("error").message;
    assert!(
        message.contains("dead-host:1:abc") && message.contains("no attempts left"),
        "{message}"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn an_api_only_instance_still_reaps_the_jobs_of_dead_workers(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let id = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO ops.jobs (id, date, status, attempt, worker_id, started_at, heartbeat_at)
         VALUES ($1, '2023-01-01', 'running', 1, 'dead-host:1:abc', now() - interval '5 min', now() - interval '5 min')",
    )
    .bind(id)
    .execute(&pool)
    .await
    .expect("insert");
    let app = spawn_app_with(&pool, data.path(), |s| {
        api_only(s);
        s.workers.stale_after_secs = 1;
    })
    .await;
    let job = app.wait_for(id, |j| j.status == JobStatus::Queued).await;
    let message = job.error.expect("why it was requeued").message;
    assert!(
        message.contains("dead-host:1:abc") && message.ends_with("requeued"),
        "{message}"
    );
}

async fn wait_for_swap_to_wait(pool: &PgPool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !swap_is_waiting(pool).await {
        assert!(
            std::time::Instant::now() < deadline,
            "the swap never waited"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_worker_whose_job_was_taken_over_cannot_publish_its_swap(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:09");
    // Slow heartbeats: between the takeover and the swap, only the swap's own check can
    // notice that the job is no longer this worker's.
    let app = spawn_app_with(&pool, data.path(), |s| {
        s.workers.heartbeat_ms = 20_000;
        s.workers.stale_after_secs = 600;
    })
    .await;
    let blocker = block_swaps(&pool).await;
    let job = app.queue("2023-01-01").await;
    wait_for_swap_to_wait(&pool).await;
    // Meanwhile the job was reaped and claimed by another worker (its attempt 2).
    sqlx::query(
        "UPDATE ops.jobs SET worker_id = 'other-host:1:xyz', attempt = attempt + 1,
             heartbeat_at = clock_timestamp() WHERE id = $1",
    )
    .bind(job.id)
    .execute(&pool)
    .await
    .expect("take over");
    blocker.rollback().await.expect("let the swap go");

    // The first worker's swap rolls back: no day, no staging, the job untouched.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !leftover_tables(&pool).await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "staging was never dropped"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        rows_of_day(&pool, "2023-01-01").await,
        0,
        "the day was not published"
    );
    let now = app.job(job.id).await;
    assert_eq!(
        (now.status, now.worker_id.as_deref(), now.attempt),
        (JobStatus::Running, Some("other-host:1:xyz"), 2),
        "{now:?}"
    );
    let loaded: i64 = sqlx::query_scalar("SELECT count(*) FROM dwh.day_loads")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(loaded, 0);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_stuck_heartbeat_does_not_stop_the_load(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 02:59");
    let app = spawn_app(&pool, data.path()).await;
    let swaps = block_swaps(&pool).await; // the load cannot finish before the row is held
    let job = app.queue("2023-01-01").await;
    app.wait_for(job.id, |j| j.status == JobStatus::Running)
        .await;
    // Someone holds the job's row as an uncommitted update of it would: every heartbeat
    // now waits for it.
    let mut holder = pool.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM ops.jobs WHERE id = $1 FOR NO KEY UPDATE")
        .bind(job.id)
        .execute(&mut *holder)
        .await
        .expect("hold the row");
    // The load goes on regardless: its streams finish and commit their staging tables.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while leftover_tables(&pool).await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the load stalled behind its heartbeat"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    holder.rollback().await.expect("release the row");
    swaps.rollback().await.expect("let the swap go");
    let done = app.wait_until_final(job.id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_eq!(done.rows_loaded, Some(180 * rows_per_file()));
}
