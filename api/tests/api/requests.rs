//! What every request gets back: problem documents for bad ones, the token check, health,
//! readiness, metrics, and the served documentation.

use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::*;

const DAY: &str = "2023-01-01";

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn malformed_requests_get_problem_documents(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
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
    let count = job_count(&pool).await;
    assert_eq!(count, 0, "no bad request created a job");
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_token_guards_the_post_endpoints(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let app = spawn_app_with(&pool, data.path(), |s| {
        api_only(s);
        s.http.api_token = Some("s3cret-token-7f3a9c2e5b8d1f4a6c0e9b2d\n".into()); // as read from a file
    })
    .await;
    let post = |auth: Option<&'static str>| {
        let mut request = app
            .client
            .post(app.url("/jobs?date=2023-01-01&allow_partial=true"));
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
        Some("Bearer s3cret-token-7f3a9c2e5b8d1f4a6c0e9b2d-and-more"),
    ] {
        let response = post(auth).await.expect("request");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let (status, _) = problem(response).await;
        assert_eq!(status, 401, "{auth:?}");
    }
    let response = post(Some("Bearer s3cret-token-7f3a9c2e5b8d1f4a6c0e9b2d"))
        .await
        .expect("request");
    assert_eq!(response.status(), 202);
    let job: api::domain::Job = response.json().await.expect("job");
    // Reading needs no token; cancelling does.
    assert_eq!(app.get(&format!("/jobs/{}", job.id)).await.status(), 200);
    let (status, _) = problem(app.post(&format!("/jobs/{}/cancel", job.id)).await).await;
    assert_eq!(status, 401);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn health_readiness_and_metrics(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let app = spawn_app(&pool, data.path()).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let ready: Value = app.get("/readyz").await.json().await.expect("json");
    assert_eq!(ready["status"], "ready");

    let job = app.queue(DAY).await;
    app.wait_until_final(job.id).await;
    // The job says `succeeded` from the swap's commit on; the worker counts the run once
    // the load has returned (after the swap come the clean-up and the versions' pruning).
    let rows_loaded = format!(
        "dwh_rows_loaded_total{{dataset=\"sample\"}} {}",
        rows_per_file()
    );
    let mut text = String::new();
    crate::process::wait_until("the worker counts the run", async || {
        let response = app.get("/metrics").await;
        assert_eq!(response.status(), 200);
        text = response.text().await.expect("text");
        text.contains(&rows_loaded)
    })
    .await;
    assert!(
        text.contains("dwh_jobs{dataset=\"sample\",status=\"succeeded\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("dwh_jobs{dataset=\"sample\",status=\"running\"} 0"),
        "{text}"
    );
    assert!(
        text.contains(
            "dwh_load_duration_seconds_count{dataset=\"sample\",outcome=\"succeeded\"} 1"
        ),
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
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
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
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let app = spawn_app(&pool, data.path()).await;
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.expect("html").contains("swagger-ui"));
    let redirect = app.get("/docs").await;
    assert!(redirect.status().is_redirection(), "{}", redirect.status());
    // Without a token nothing needs one, and the served spec says so.
    let spec: Value = app.get("/openapi.json").await.json().await.expect("spec");
    for operation in ["/jobs", "/jobs/{id}/cancel"] {
        assert!(
            spec["paths"][operation]["post"]["security"].is_null(),
            "{operation}"
        );
    }
    let committed: Value = serde_json::from_str(&api::openapi::spec_json()).expect("spec json");
    assert_eq!(spec["components"], committed["components"]);
    assert_eq!(
        committed["paths"]["/jobs"]["post"]["security"],
        serde_json::json!([{"bearer": []}])
    );

    // With a token, the served spec is the committed one, which declares it.
    let tokened = spawn_app_with(&pool, data.path(), |s| {
        s.http.api_token = Some("s3cret-token-7f3a9c2e5b8d1f4a6c0e9b2d".into())
    })
    .await;
    let spec: Value = tokened
        .get("/openapi.json")
        .await
        .json()
        .await
        .expect("spec");
    assert_eq!(spec, committed);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_cross_site_browser_request_cannot_start_or_cancel_a_job(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let app = spawn_app_with(&pool, data.path(), api_only).await; // no token: an open API
    let host = app.address.trim_start_matches("http://").to_owned();
    let post = |path: &str, header: (&'static str, String)| {
        app.client
            .post(app.url(path))
            .header(header.0, header.1)
            .send()
    };
    let path = "/jobs?date=2023-01-01&allow_partial=true";
    for header in [
        ("sec-fetch-site", "cross-site".to_owned()),
        ("origin", "https://evil.example".to_owned()),
        ("origin", "null".to_owned()),
    ] {
        let response = post(path, header.clone()).await.expect("request");
        let (status, body) = problem(response).await;
        assert_eq!(
            (status, body["type"].as_str()),
            (403, Some("urn:dwh-loader:problem:forbidden")),
            "{header:?}"
        );
    }
    let cancel = post(
        &format!("/jobs/{}/cancel", uuid::Uuid::new_v4()),
        ("origin", "https://evil.example".into()),
    )
    .await
    .expect("request");
    assert_eq!(cancel.status(), 403);
    let count = job_count(&pool).await;
    assert_eq!(count, 0, "nothing was queued");

    // The page's own origin (Swagger UI at /docs) and same-site requests may.
    let same = post(path, ("origin", format!("http://{host}")))
        .await
        .expect("request");
    assert_eq!(same.status(), 202);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_blocked_query_answers_503_at_its_statement_timeout_instead_of_hanging(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let app = spawn_app_with(&pool, data.path(), |s| {
        api_only(s);
        s.http.http_db_connections = 1;
        s.http.http_statement_timeout_ms = 300;
    })
    .await;
    // Someone holds the jobs table: every listing waits behind them.
    let mut blocker = pool.begin().await.expect("begin");
    sqlx::query("LOCK TABLE ops.jobs IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .expect("lock");
    let requests = (0..4).map(|_| app.get("/jobs"));
    let responses = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        futures::future::join_all(requests),
    )
    .await
    .expect("the requests end instead of waiting for the lock");
    for response in responses {
        let (status, body) = problem(response).await;
        assert_eq!(status, 503, "{body}");
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("did not answer in time")),
            "{body}"
        );
    }
    blocker.rollback().await.expect("end");
    assert_eq!(
        app.get("/jobs").await.status(),
        200,
        "the one HTTP connection is free again"
    );
}
