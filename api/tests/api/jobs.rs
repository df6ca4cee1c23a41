//! The job lifecycle through the API: queue a day, follow it, cancel it, list jobs, backfill.

use api::domain::{JobStatus, JobTrigger};
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::*;

const DAY: &str = "2023-01-01";

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_posted_day_is_loaded_and_reported(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:29");
    let app = spawn_app(&pool, data.path()).await;

    let response = app.post("/jobs?date=2023-01-01&allow_partial=true").await;
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let job: api::domain::Job = response.json().await.expect("job");
    assert_eq!(location, format!("/jobs/{}", job.id));
    assert_eq!(job.date.to_string(), DAY);
    assert_eq!(job.trigger, JobTrigger::Api);
    assert!(matches!(job.status, JobStatus::Queued | JobStatus::Running));

    let done = app.wait_until_final(job.id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_eq!(done.attempt, 1);
    assert_eq!(done.rows_loaded, Some(30 * rows_per_file()));
    assert_eq!(done.progress.files_done, 30);
    assert_eq!(done.progress.files_total, Some(30));
    assert_eq!(done.progress.rows_total, Some(30 * rows_per_file()));
    assert!(done.error.is_none());
    assert!(done.started_at.is_some() && done.finished_at.is_some() && done.duration_ms.is_some());
    assert_eq!(rows_of_day(&pool, DAY).await, 30 * rows_per_file());

    let summary: Value = app
        .get("/partitions/2023-01-01")
        .await
        .json()
        .await
        .expect("json");
    let expected: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT department_name), count(DISTINCT sensor_serial),
                count(DISTINCT product_name) FROM dwh.data_sample",
    )
    .fetch_one(&pool)
    .await
    .expect("counts");
    assert_eq!(summary["rows"], expected.0);
    assert_eq!(summary["distinct_department_names"], expected.1);
    assert_eq!(summary["distinct_sensor_serials"], expected.2);
    assert_eq!(summary["distinct_product_names"], expected.3);
    assert_eq!(summary["partition"]["job_id"], job.id.to_string());
    assert_eq!(summary["partition"]["files"], 30);

    let partitions: Value = app.get("/partitions").await.json().await.expect("json");
    assert_eq!(partitions.as_array().map(Vec::len), Some(1));
    assert_eq!(partitions[0]["date"], DAY);
    assert_eq!(partitions[0]["rows"], 30 * rows_per_file());
    assert!(partitions[0]["size_bytes"].as_i64().is_some_and(|s| s > 0));
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_second_post_of_an_active_date_conflicts_with_its_id(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:01");
    let app = spawn_app_with(&pool, data.path(), api_only).await;
    let first = app.queue(DAY).await;

    let (status, body) = problem(app.post("/jobs?date=2023-01-01&allow_partial=true").await).await;
    assert_eq!(status, 409);
    assert_eq!(body["job_id"], first.id.to_string());
    assert_eq!(body["type"], "urn:dwh-loader:problem:date-busy");

    // Once the first is cancelled the date is free again.
    assert_eq!(
        app.post(&format!("/jobs/{}/cancel", first.id))
            .await
            .status(),
        200
    );
    app.queue(DAY).await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn cancelling_a_queued_job_is_immediate_and_final(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:01");
    let app = spawn_app_with(&pool, data.path(), api_only).await;
    let job = app.queue(DAY).await;

    let response = app.post(&format!("/jobs/{}/cancel", job.id)).await;
    assert_eq!(response.status(), 200);
    let cancelled: api::domain::Job = response.json().await.expect("job");
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    assert!(cancelled.finished_at.is_some());

    let (status, body) = problem(app.post(&format!("/jobs/{}/cancel", job.id)).await).await;
    assert_eq!(status, 409);
    assert_eq!(body["type"], "urn:dwh-loader:problem:already-finished");
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn cancelling_a_running_load_keeps_the_old_day(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:04");
    let app = spawn_app(&pool, data.path()).await;
    let first = app.queue(DAY).await;
    assert_eq!(
        app.wait_until_final(first.id).await.status,
        JobStatus::Succeeded
    );
    let (old_rows, old_sum) = (
        rows_of_day(&pool, DAY).await,
        checksum_of_day(&pool, DAY).await,
    );

    add_minutes(data.path(), "2023-01-01 00:05", "2023-01-01 00:19");
    let reader = block_swaps(&pool).await;
    let job = app.queue(DAY).await;
    wait_until_copied(&app, job.id).await;
    let (status, busy) = problem(app.post("/jobs?date=2023-01-01&allow_partial=true").await).await;
    assert_eq!(
        (status, busy["job_id"].as_str()),
        (409, Some(job.id.to_string().as_str())),
        "a running date is busy"
    );
    let response = app.post(&format!("/jobs/{}/cancel", job.id)).await;
    assert_eq!(response.status(), 202, "a running job is asked to stop");
    let ended = app.wait_until_final(job.id).await;
    reader.rollback().await.expect("release");

    assert_eq!(ended.status, JobStatus::Cancelled, "{ended:?}");
    assert!(ended.error.is_some_and(|e| e.message.contains("cancelled")));
    assert_eq!(rows_of_day(&pool, DAY).await, old_rows);
    assert_eq!(checksum_of_day(&pool, DAY).await, old_sum);
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_failed_load_names_file_row_and_column(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:02");
    // A file whose create_at lies in another day.
    let wrong_day = minutes_dir("2023-01-02 00:00", "2023-01-02 00:00");
    let bad = data.path().join("2023-01-01 00:03:00.parquet");
    std::fs::copy(wrong_day.path().join("2023-01-02 00:00:00.parquet"), &bad).expect("copy");
    let app = spawn_app(&pool, data.path()).await;

    let job = app.queue(DAY).await;
    let done = app.wait_until_final(job.id).await;
    assert_eq!(done.status, JobStatus::Failed);
    assert_eq!(done.attempt, 1, "bad input is not retried");
    let error = done.error.expect("error");
    // Named relative to the data directory: the server's paths are not the client's.
    assert_eq!(error.file.as_deref(), Some("2023-01-01 00:03:00.parquet"));
    assert_eq!(error.row, Some(0));
    assert_eq!(error.column.as_deref(), Some("create_at"));
    assert!(
        error
            .message
            .starts_with("invalid input: 2023-01-01 00:03:00.parquet, row 0, column create_at: "),
        "{}",
        error.message
    );
    assert!(!bad.exists() || !error.message.contains(&data.path().display().to_string()));
    assert_eq!(rows_of_day(&pool, DAY).await, 0);
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_backfill_queues_one_job_per_day_with_files(pool: PgPool) {
    let data = minutes_dir("2023-01-01 23:59", "2023-01-02 00:00");
    let app = spawn_app_with(&pool, data.path(), api_only).await;

    let response = app
        .post("/jobs?from=2023-01-01&to=2023-01-03&allow_partial=true")
        .await;
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.expect("json");
    let created: Vec<&str> = body["created"]
        .as_array()
        .expect("created")
        .iter()
        .map(|j| j["date"].as_str().expect("date"))
        .collect();
    assert_eq!(created, ["2023-01-01", "2023-01-02"]);
    assert!(
        body["created"]
            .as_array()
            .expect("created")
            .iter()
            .all(|j| j["trigger"] == "backfill")
    );
    assert_eq!(body["missing"], serde_json::json!(["2023-01-03"]));
    assert_eq!(body["busy"], serde_json::json!([]));

    let again: Value = app
        .post("/jobs?from=2023-01-01&to=2023-01-02&allow_partial=true")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(again["created"], serde_json::json!([]));
    assert_eq!(again["busy"][0]["job_id"], body["created"][0]["id"]);
    assert_eq!(again["busy"][1]["job_id"], body["created"][1]["id"]);

    let (status, _) = problem(app.post("/jobs?from=2023-02-01&to=2023-02-03").await).await;
    assert_eq!(status, 422);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn jobs_are_listed_newest_first_with_filters_and_a_cursor(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    add_minutes(data.path(), "2023-01-02 00:00", "2023-01-02 00:00");
    add_minutes(data.path(), "2023-01-03 00:00", "2023-01-03 00:00");
    let app = spawn_app_with(&pool, data.path(), api_only).await;
    let a = app.queue("2023-01-01").await;
    let b = app.queue("2023-01-02").await;
    let c = app.queue("2023-01-03").await;
    app.post(&format!("/jobs/{}/cancel", b.id)).await;

    let ids = |page: &Value| -> Vec<String> {
        page["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .map(|j| j["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let first: Value = app.get("/jobs?limit=2").await.json().await.expect("json");
    assert_eq!(ids(&first), [c.id.to_string(), b.id.to_string()]);
    let cursor = first["next_cursor"].as_str().expect("cursor");
    let second: Value = app
        .get(&format!("/jobs?limit=2&cursor={cursor}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(ids(&second), [a.id.to_string()]);
    assert!(second["next_cursor"].is_null());

    let cancelled: Value = app
        .get("/jobs?status=cancelled")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(ids(&cancelled), [b.id.to_string()]);
    let range: Value = app
        .get("/jobs?from=2023-01-02&to=2023-01-03&status=queued")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(ids(&range), [c.id.to_string()]);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn two_workers_load_two_days_at_once_each_touching_its_own(pool: PgPool) {
    let data = minutes_dir("2023-01-01 23:50", "2023-01-02 00:09");
    let app = spawn_app_with(&pool, data.path(), |s| s.workers.count = 2).await;
    // The swaps are held until both jobs run: on a busy machine one worker could
    // otherwise finish the first day before the other has woken, and take both.
    let swaps = block_swaps(&pool).await;
    let first = app.queue("2023-01-01").await;
    let second = app.queue("2023-01-02").await;
    for job in [first.id, second.id] {
        app.wait_for(job, |j| j.status == JobStatus::Running).await;
    }
    swaps.rollback().await.expect("let the swaps go");

    let (a, b) = tokio::join!(
        app.wait_until_final(first.id),
        app.wait_until_final(second.id)
    );
    assert_eq!(
        (a.status, b.status),
        (JobStatus::Succeeded, JobStatus::Succeeded)
    );
    assert_ne!(
        a.worker_id, b.worker_id,
        "the two days ran on different workers"
    );
    assert_eq!(rows_of_day(&pool, "2023-01-01").await, 10 * rows_per_file());
    assert_eq!(rows_of_day(&pool, "2023-01-02").await, 10 * rows_per_file());
    let partitions: Value = app.get("/partitions").await.json().await.expect("json");
    assert_eq!(partitions[0]["job_id"], first.id.to_string());
    assert_eq!(partitions[1]["job_id"], second.id.to_string());
}
