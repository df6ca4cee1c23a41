//! `Idempotency-Key` on `POST /jobs`: a retried request answers the first answer and
//! queues nothing more; a key reused for other parameters is refused.

use futures::future::join_all;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::*;

const KEY: &str = "Idempotency-Key";

async fn post_with_key(app: &TestApp, path: &str, key: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header(KEY, key)
        .send()
        .await
        .expect("POST")
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_retry_with_the_same_key_answers_the_same_job(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:01");
    let app = spawn_app_with(&pool, data.path(), api_only).await;
    let path = "/jobs?date=2023-01-01&allow_partial=true";

    let first = post_with_key(&app, path, "retry-1").await;
    assert_eq!(first.status(), 202);
    let location = first.headers()["location"].clone();
    let first: Value = first.json().await.expect("job");
    let again = post_with_key(&app, path, "retry-1").await;
    assert_eq!(
        again.status(),
        202,
        "the first answer, not a 409 for the busy date"
    );
    assert_eq!(again.headers()["location"], location);
    let again: Value = again.json().await.expect("job");
    assert_eq!(again, first);
    assert_eq!(job_count(&pool).await, 1);

    // Without a key, the same request is a new request: the date is busy.
    let (status, body) = problem(app.post(path).await).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (409, Some("urn:dwh-loader:problem:date-busy"))
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_key_reused_for_other_parameters_is_refused(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-02 00:01");
    let app = spawn_app_with(&pool, data.path(), api_only).await;
    let first = post_with_key(&app, "/jobs?date=2023-01-01&allow_partial=true", "k").await;
    assert_eq!(first.status(), 202);
    let (status, body) =
        problem(post_with_key(&app, "/jobs?date=2023-01-02&allow_partial=true", "k").await).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["type"],
        "urn:dwh-loader:problem:idempotency-key-reused"
    );
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("date=2023-01-01")),
        "{body}"
    );
    assert_eq!(job_count(&pool).await, 1);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn an_error_answer_is_kept_too_and_a_day_later_the_key_is_free(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:01");
    let app = spawn_app_with(&pool, data.path(), api_only).await;
    // Incomplete without allow_partial: 422, and the retry gets the same 422.
    let path = "/jobs?date=2023-01-01";
    let (first, _) = problem(post_with_key(&app, path, "day").await).await;
    let (again, body) = problem(post_with_key(&app, path, "day").await).await;
    assert_eq!((first, again), (422, 422));
    assert_eq!(body["type"], "urn:dwh-loader:problem:day-incomplete");

    sqlx::query("UPDATE ops.idempotency SET created_at = created_at - interval '25 hours'")
        .execute(&pool)
        .await
        .expect("age the key");
    add_minutes(data.path(), "2023-01-01 00:02", "2023-01-01 23:59");
    let response = post_with_key(&app, path, "day").await;
    assert_eq!(
        response.status(),
        202,
        "an expired key runs the request anew"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn concurrent_requests_with_one_key_queue_one_job(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:01");
    let app = spawn_app_with(&pool, data.path(), api_only).await;
    let path = "/jobs?date=2023-01-01&allow_partial=true";
    let answers = join_all((0..20).map(|_| post_with_key(&app, path, "burst"))).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    // Each is the first answer (202) or, while it was being made, "in progress" (409).
    assert!(
        statuses.iter().all(|s| [202, 409].contains(s)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&202));
    assert_eq!(job_count(&pool).await, 1);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_malformed_key_is_a_bad_request(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:01");
    let app = spawn_app_with(&pool, data.path(), api_only).await;
    for key in ["", "has space", &"x".repeat(256)] {
        let (status, body) =
            problem(post_with_key(&app, "/jobs?date=2023-01-01&allow_partial=true", key).await)
                .await;
        assert_eq!(status, 400, "{key:?}: {body}");
    }
    assert_eq!(job_count(&pool).await, 0);
}
