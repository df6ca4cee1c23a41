//! The job API end to end: real app, real PostgreSQL, real Parquet.

mod common;

use api::domain::JobStatus;
use common::*;
use serde_json::Value;
use sqlx::PgPool;

const DAY: &str = "2023-01-01";

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_posted_day_is_loaded_and_reported(pool: PgPool) {
    let data = data_dir("2023-01-01 00:00", "2023-01-01 00:29");
    let app = spawn_app(&pool, data.path()).await;

    let response = app.post("/jobs?date=2023-01-01").await;
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let job: api::domain::Job = response.json().await.expect("job");
    assert_eq!(location, format!("/jobs/{}", job.id));
    assert_eq!(job.date.to_string(), DAY);
    assert!(matches!(job.status, JobStatus::Queued | JobStatus::Running));

    let done = app.wait_until_final(job.id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_eq!(done.attempt, 1);
    assert_eq!(done.rows_loaded, Some(30 * ROWS_PER_FILE));
    assert_eq!(done.progress.files_done, 30);
    assert_eq!(done.progress.files_total, Some(30));
    assert_eq!(done.progress.rows_total, Some(30 * ROWS_PER_FILE));
    assert!(done.error.is_none());
    assert!(done.started_at.is_some() && done.finished_at.is_some() && done.duration_ms.is_some());
    assert_eq!(rows_of_day(&pool, DAY).await, 30 * ROWS_PER_FILE);

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
    assert_eq!(partitions[0]["rows"], 30 * ROWS_PER_FILE);
    assert!(partitions[0]["size_bytes"].as_i64().is_some_and(|s| s > 0));
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_second_post_of_an_active_date_conflicts_with_its_id(pool: PgPool) {
    let data = data_dir("2023-01-01 00:00", "2023-01-01 00:01");
    let app = spawn_app_with(&pool, data.path(), api_only).await;
    let first = app.queue(DAY).await;

    let (status, body) = problem(app.post("/jobs?date=2023-01-01").await).await;
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
    let data = data_dir("2023-01-01 00:00", "2023-01-01 00:01");
    let app = spawn_app_with(&pool, data.path(), api_only).await;
    let job = app.queue(DAY).await;

    let response = app.post(&format!("/jobs/{}/cancel", job.id)).await;
    assert_eq!(response.status(), 200);
    let cancelled: api::domain::Job = response.json().await.expect("job");
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    assert!(cancelled.finished_at.is_some());

    let (status, body) = problem(app.post(&format!("/jobs/{}/cancel", job.id)).await).await;
    assert_eq!(status, 409);
    assert_eq!(body["type"], "urn:dwh-loader:problem:job-finished");
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn cancelling_a_running_load_keeps_the_old_day(pool: PgPool) {
    let data = data_dir("2023-01-01 00:00", "2023-01-01 00:04");
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
    let (status, busy) = problem(app.post("/jobs?date=2023-01-01").await).await;
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
    let data = data_dir("2023-01-01 00:00", "2023-01-01 00:02");
    // A file whose create_at lies in another day.
    let wrong_day = data_dir("2023-01-02 00:00", "2023-01-02 00:00");
    let bad = data.path().join("2023-01-01 00:03:00.parquet");
    std::fs::copy(wrong_day.path().join("2023-01-02 00:00:00.parquet"), &bad).expect("copy");
    let app = spawn_app(&pool, data.path()).await;

    let job = app.queue(DAY).await;
    let done = app.wait_until_final(job.id).await;
    assert_eq!(done.status, JobStatus::Failed);
    assert_eq!(done.attempt, 1, "bad input is not retried");
    let error = done.error.expect("error");
    assert_eq!(
        error.file.as_deref(),
        Some(bad.to_str().expect("utf-8 path"))
    );
    assert_eq!(error.row, Some(0));
    assert_eq!(error.column.as_deref(), Some("create_at"));
    assert!(
        error.message.contains("2023-01-01 00:03:00.parquet"),
        "{}",
        error.message
    );
    assert_eq!(rows_of_day(&pool, DAY).await, 0);
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn malformed_requests_get_problem_documents(pool: PgPool) {
    let data = data_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let app = spawn_app_with(&pool, data.path(), api_only).await;
    let long = "9".repeat(10_000);
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "POST",
            "/jobs?date=2023-02-30".into(),
            400,
            "invalid-parameter",
        ),
        (
            "POST",
            "/jobs?date=2023-1-1".into(),
            400,
            "invalid-parameter",
        ),
        ("POST", "/jobs?date=".into(), 400, "invalid-parameter"),
        ("POST", "/jobs".into(), 400, "invalid-parameter"),
        (
            "POST",
            format!("/jobs?date={long}"),
            400,
            "invalid-parameter",
        ),
        (
            "POST",
            "/jobs?date=..%2F..%2Fetc".into(),
            400,
            "invalid-parameter",
        ),
        (
            "POST",
            "/jobs?date=2023-01-01&from=2023-01-01&to=2023-01-02".into(),
            400,
            "invalid-parameter",
        ),
        (
            "POST",
            "/jobs?from=2023-01-02".into(),
            400,
            "invalid-parameter",
        ),
        (
            "POST",
            "/jobs?from=2023-01-03&to=2023-01-01".into(),
            400,
            "invalid-parameter",
        ),
        (
            "POST",
            "/jobs?from=2023-01-01&to=2024-06-01".into(),
            400,
            "invalid-parameter",
        ),
        (
            "POST",
            "/jobs?date=2023-01-01&date=2023-01-02".into(),
            400,
            "invalid-parameter",
        ),
        (
            "POST",
            "/jobs?date=2023-02-01".into(),
            422,
            "no-source-files",
        ),
        ("GET", "/jobs?status=bogus".into(), 400, "invalid-parameter"),
        ("GET", "/jobs?limit=0".into(), 400, "invalid-parameter"),
        ("GET", "/jobs?limit=abc".into(), 400, "invalid-parameter"),
        (
            "GET",
            "/jobs?from=2023-13-01".into(),
            400,
            "invalid-parameter",
        ),
        (
            "GET",
            "/jobs?cursor=0193a0c4-5a4e-7cc1-9d7e-2f0c1f6f3b11".into(),
            400,
            "invalid-parameter",
        ),
        ("GET", "/jobs/not-a-uuid".into(), 400, "invalid-parameter"),
        (
            "GET",
            "/jobs/0193a0c4-5a4e-7cc1-9d7e-2f0c1f6f3b11".into(),
            404,
            "not-found",
        ),
        (
            "POST",
            "/jobs/0193a0c4-5a4e-7cc1-9d7e-2f0c1f6f3b11/cancel".into(),
            404,
            "not-found",
        ),
        ("POST", "/jobs/12/cancel".into(), 400, "invalid-parameter"),
        (
            "GET",
            "/partitions/2023-02-31".into(),
            400,
            "invalid-parameter",
        ),
        ("GET", "/partitions/2023-01-05".into(), 404, "not-found"),
        ("GET", "/nowhere".into(), 404, "not-found"),
        ("DELETE", "/jobs".into(), 405, "method-not-allowed"),
        (
            "PUT",
            "/jobs/0193a0c4-5a4e-7cc1-9d7e-2f0c1f6f3b11".into(),
            405,
            "method-not-allowed",
        ),
        (
            "GET",
            "/jobs/0193a0c4-5a4e-7cc1-9d7e-2f0c1f6f3b11/cancel".into(),
            405,
            "method-not-allowed",
        ),
    ];
    for (method, path, expected, kind) in cases {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let response = app
            .client
            .request(method.clone(), app.url(&path))
            .send()
            .await
            .expect("request");
        let shown: String = path.chars().take(60).collect();
        let (status, body) = problem(response).await;
        assert_eq!(status, expected, "{method} {shown}: {body}");
        assert_eq!(
            body["type"],
            format!("urn:dwh-loader:problem:{kind}"),
            "{method} {shown}"
        );
        assert!(
            body["detail"].as_str().is_some_and(|d| d.len() < 300),
            "{body}"
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM ops.jobs")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(count, 0, "no bad request created a job");
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_token_guards_the_post_endpoints(pool: PgPool) {
    let data = data_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let app = spawn_app_with(&pool, data.path(), |s| {
        api_only(s);
        s.api_token = Some("s3cret-token".into());
    })
    .await;
    let post = |auth: Option<&'static str>| {
        let mut request = app.client.post(app.url("/jobs?date=2023-01-01"));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send()
    };
    for auth in [
        None,
        Some("Bearer wrong-token"),
        Some("Basic czNjcmV0LXRva2Vu"),
        Some("Bearer s3cret-toke"),
    ] {
        let response = post(auth).await.expect("request");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let (status, _) = problem(response).await;
        assert_eq!(status, 401, "{auth:?}");
    }
    let response = post(Some("Bearer s3cret-token")).await.expect("request");
    assert_eq!(response.status(), 202);
    let job: api::domain::Job = response.json().await.expect("job");
    // Reading needs no token; cancelling does.
    assert_eq!(app.get(&format!("/jobs/{}", job.id)).await.status(), 200);
    let (status, _) = problem(app.post(&format!("/jobs/{}/cancel", job.id)).await).await;
    assert_eq!(status, 401);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_backfill_queues_one_job_per_day_with_files(pool: PgPool) {
    let data = data_dir("2023-01-01 23:59", "2023-01-02 00:00");
    let app = spawn_app_with(&pool, data.path(), api_only).await;

    let response = app.post("/jobs?from=2023-01-01&to=2023-01-03").await;
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.expect("json");
    let created: Vec<&str> = body["created"]
        .as_array()
        .expect("created")
        .iter()
        .map(|j| j["date"].as_str().expect("date"))
        .collect();
    assert_eq!(created, ["2023-01-01", "2023-01-02"]);
    assert_eq!(body["missing"], serde_json::json!(["2023-01-03"]));
    assert_eq!(body["busy"], serde_json::json!([]));

    let again: Value = app
        .post("/jobs?from=2023-01-01&to=2023-01-02")
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
    let data = data_dir("2023-01-01 00:00", "2023-01-01 00:00");
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
async fn two_instances_never_run_one_date_twice(pool: PgPool) {
    let data = data_dir("2023-01-01 00:00", "2023-01-01 00:09");
    let one = spawn_app(&pool, data.path()).await;
    let two = spawn_app(&pool, data.path()).await;

    let posts = (0..100).map(|i| {
        let app = if i % 2 == 0 { &one } else { &two };
        app.client.post(app.url("/jobs?date=2023-01-01")).send()
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

    let jobs: Value = one.get("/jobs").await.json().await.expect("json");
    let id: uuid::Uuid = jobs["jobs"][0]["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    let done = two.wait_until_final(id).await;
    assert_eq!(done.status, JobStatus::Succeeded);
    assert_eq!(done.attempt, 1);
    assert_eq!(rows_of_day(&pool, DAY).await, 10 * ROWS_PER_FILE);
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM ops.jobs")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(total, 1);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn shutdown_hands_a_running_job_back_and_another_instance_finishes_it(pool: PgPool) {
    let data = data_dir("2023-01-01 00:00", "2023-01-01 00:09");
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
    assert_eq!(rows_of_day(&pool, DAY).await, 10 * ROWS_PER_FILE);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn the_reaper_requeues_a_job_whose_worker_died(pool: PgPool) {
    let data = data_dir("2023-01-01 00:00", "2023-01-01 00:01");
    let id = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO ops.jobs (id, date, status, attempt, worker_id, started_at, heartbeat_at)
         VALUES ($1, '2023-01-01', 'running', 1, 'dead-host:1:abc', now() - interval '5 min', now() - interval '5 min')",
    )
    .bind(id)
    .execute(&pool)
    .await
    .expect("insert");
    let app = spawn_app_with(&pool, data.path(), |s| s.stale_after_secs = 1).await;

    let done = app.wait_until_final(id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_eq!(done.attempt, 2);
    assert_eq!(rows_of_day(&pool, DAY).await, 2 * ROWS_PER_FILE);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_job_out_of_attempts_fails_with_a_reason(pool: PgPool) {
    let data = data_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let id = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO ops.jobs (id, date, status, attempt, max_attempts, worker_id, started_at, heartbeat_at)
         VALUES ($1, '2023-01-01', 'running', 3, 3, 'dead-host:1:abc', now() - interval '5 min', now() - interval '5 min')",
    )
    .bind(id)
    .execute(&pool)
    .await
    .expect("insert");
    let app = spawn_app_with(&pool, data.path(), |s| s.stale_after_secs = 1).await;

    let done = app.wait_until_final(id).await;
    assert_eq!(done.status, JobStatus::Failed);
    let message = done.error.expect("error").message;
    assert!(
        message.contains("dead-host:1:abc") && message.contains("no attempts left"),
        "{message}"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn health_readiness_and_metrics(pool: PgPool) {
    let data = data_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let app = spawn_app(&pool, data.path()).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let ready: Value = app.get("/readyz").await.json().await.expect("json");
    assert_eq!(ready["status"], "ready");

    let job = app.queue(DAY).await;
    app.wait_until_final(job.id).await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("text");
    assert!(text.contains("dwh_jobs{status=\"succeeded\"} 1"), "{text}");
    assert!(text.contains("dwh_jobs{status=\"running\"} 0"), "{text}");
    assert!(
        text.contains(&format!("dwh_rows_loaded_total {ROWS_PER_FILE}")),
        "{text}"
    );
    assert!(
        text.contains("dwh_load_duration_seconds_count{outcome=\"succeeded\"} 1"),
        "{text}"
    );
    assert!(
        text.contains(
            "http_request_duration_seconds_count{method=\"POST\",route=\"/jobs\",status=\"202\"} 1"
        ),
        "{text}"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn readiness_reports_missing_migrations(pool: PgPool) {
    let data = data_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let app = spawn_app(&pool, data.path()).await;
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(&pool)
    .await
    .expect("forget a migration");
    let (status, body) = problem(app.get("/readyz").await).await;
    assert_eq!(status, 503);
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("not applied")),
        "{body}"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn swagger_ui_and_the_spec_are_served(pool: PgPool) {
    let data = data_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let app = spawn_app(&pool, data.path()).await;
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.expect("html").contains("swagger-ui"));
    let redirect = app.get("/docs").await;
    assert!(redirect.status().is_redirection(), "{}", redirect.status());
    let spec: Value = app.get("/openapi.json").await.json().await.expect("spec");
    let committed: Value = serde_json::from_str(&api::openapi::spec_json()).expect("spec json");
    assert_eq!(spec, committed);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn two_workers_load_two_days_at_once_each_touching_its_own(pool: PgPool) {
    let data = data_dir("2023-01-01 23:50", "2023-01-02 00:09");
    let app = spawn_app_with(&pool, data.path(), |s| s.workers = 2).await;
    let first = app.queue("2023-01-01").await;
    let second = app.queue("2023-01-02").await;

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
    assert_eq!(rows_of_day(&pool, "2023-01-01").await, 10 * ROWS_PER_FILE);
    assert_eq!(rows_of_day(&pool, "2023-01-02").await, 10 * ROWS_PER_FILE);
    let partitions: Value = app.get("/partitions").await.json().await.expect("json");
    assert_eq!(partitions[0]["job_id"], first.id.to_string());
    assert_eq!(partitions[1]["job_id"], second.id.to_string());
}
