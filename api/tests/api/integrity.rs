//! The integrity gate through the API: an incomplete or ambiguous day is refused when it
//! is posted (no job is created), a backfill says which days it left out and why, and a
//! partial day, once allowed, is recorded as partial.

use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::*;

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn an_incomplete_day_answers_422_with_its_missing_minutes(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:04");
    let app = spawn_app(&pool, data.path()).await;
    let (status, body) = problem(app.post("/jobs?date=2023-01-01").await).await;
    assert_eq!(status, 422);
    assert_eq!(body["type"], "urn:dwh-loader:problem:day-incomplete");
    assert_eq!(body["missing_minutes"], 1435);
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("(00:05, 00:06, 00:07, 00:08, 00:09 … and 1430 more)")),
        "{body}"
    );
    assert_eq!(job_count(&pool).await, 0, "nothing was queued");
    let (_, none) = problem(app.post("/jobs?date=2023-01-05").await).await;
    let detail = none["detail"].as_str().expect("detail");
    assert!(
        detail.contains("in the data directory")
            && !detail.contains(&data.path().display().to_string()),
        "no server path in answers: {detail}"
    );

    let job = app.queue("2023-01-01").await; // with allow_partial=true
    assert!(job.allow_partial);
    let done = app.wait_until_final(job.id).await;
    assert_eq!(done.rows_loaded, Some(5 * rows_per_file()), "{done:?}");
    let day: Value = app
        .get("/partitions/2023-01-01")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(day["partition"]["partial"], true);
    let missing = day["partition"]["missing_minutes"]
        .as_array()
        .expect("minutes");
    assert_eq!((missing.len(), &missing[0]), (1435, &json!("00:05")));
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_second_copy_of_a_minute_answers_422_ambiguous(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:01");
    std::fs::copy(
        data.path().join("2023-01-01 00:00:00.parquet"),
        data.path().join("2023-01-01 00:00:00 (1).parquet"),
    )
    .expect("copy");
    let app = spawn_app_with(&pool, data.path(), api_only).await;
    let (status, body) = problem(app.post("/jobs?date=2023-01-01&allow_partial=true").await).await;
    assert_eq!(status, 422);
    assert_eq!(body["type"], "urn:dwh-loader:problem:day-ambiguous");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("\"2023-01-01 00:00:00 (1).parquet\"")),
        "{body}"
    );
    assert_eq!(job_count(&pool).await, 0, "nothing was queued");
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_backfill_says_which_days_it_left_out_and_why(pool: PgPool) {
    let data = minutes_dir("2023-01-01 23:59", "2023-01-02 00:00");
    std::fs::copy(
        data.path().join("2023-01-02 00:00:00.parquet"),
        data.path().join("2023-01-02 00:00:00.parquet.bak.parquet"),
    )
    .expect("copy");
    let app = spawn_app_with(&pool, data.path(), api_only).await;

    let body: Value = app
        .post("/jobs?from=2023-01-01&to=2023-01-03")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["created"], json!([]));
    assert_eq!(body["missing"], json!(["2023-01-03"]));
    assert_eq!(body["incomplete"][0]["date"], "2023-01-01");
    assert!(
        body["incomplete"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("2023-01-01 is incomplete: 1439 of its 1,440")),
        "{body}"
    );
    assert_eq!(body["ambiguous"][0]["date"], "2023-01-02");
    assert_eq!(job_count(&pool).await, 0);

    let allowed: Value = app
        .post("/jobs?from=2023-01-01&to=2023-01-03&allow_partial=true")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(allowed["created"][0]["date"], "2023-01-01");
    assert_eq!(allowed["created"][0]["allow_partial"], true);
    assert_eq!(allowed["incomplete"], json!([]));
    assert_eq!(
        allowed["ambiguous"][0]["date"], "2023-01-02",
        "ambiguity is never allowed"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_job_that_would_shrink_the_day_fails_unless_forced(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:02");
    let app = spawn_app_with(&pool, data.path(), |_| {}).await;
    let first = app.queue("2023-01-01").await;
    app.wait_until_final(first.id).await;
    for minute in ["00:01", "00:02"] {
        std::fs::remove_file(data.path().join(format!("2023-01-01 {minute}:00.parquet")))
            .expect("remove");
    }
    let shrinking = app.wait_until_final(app.queue("2023-01-01").await.id).await;
    let error = shrinking.error.expect("an error");
    assert!(
        error
            .message
            .starts_with("the load would shrink 2023-01-01 from 5,742 to 1,914 rows"),
        "{error:?}"
    );
    assert_eq!(rows_of_day(&pool, "2023-01-01").await, 3 * rows_per_file());

    let response = app
        .post("/jobs?date=2023-01-01&allow_partial=true&force=true")
        .await;
    assert_eq!(response.status(), 202);
    let forced: api::domain::Job = response.json().await.expect("job");
    assert!(forced.force);
    let done = app.wait_until_final(forced.id).await;
    assert_eq!(done.rows_loaded, Some(rows_per_file()), "{done:?}");
}
