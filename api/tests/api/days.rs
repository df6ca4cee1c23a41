//! `GET /days`: each state from real files, real loads and a real failed job.

use api::domain::JobStatus;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::*;

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn every_day_of_the_range_says_where_it_stands(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:01"); // partial
    add_minutes(data.path(), "2023-01-02 00:00", "2023-01-02 23:59"); // loaded
    add_minutes(data.path(), "2023-01-03 00:00", "2023-01-03 00:02"); // arriving
    add_minutes(data.path(), "2023-01-04 00:00", "2023-01-04 00:01"); // changed
    add_minutes(data.path(), "2023-01-05 00:00", "2023-01-05 00:01"); // failed
    add_minutes(data.path(), "2023-01-07 00:00", "2023-01-07 23:59"); // complete
    let app = spawn_app(&pool, data.path()).await;
    for day in ["2023-01-01", "2023-01-02", "2023-01-04"] {
        let job = app.queue(day).await;
        assert_eq!(
            app.wait_until_final(job.id).await.status,
            JobStatus::Succeeded
        );
    }
    add_minutes(data.path(), "2023-01-04 00:02", "2023-01-04 00:02");
    std::fs::write(
        data.path().join("2023-01-05 00:01:00.parquet"),
        b"not parquet",
    )
    .expect("corrupt");
    let failed = app.queue("2023-01-05").await;
    assert_eq!(
        app.wait_until_final(failed.id).await.status,
        JobStatus::Failed
    );

    let response = app.get("/days?from=2023-01-01&to=2023-01-07").await;
    assert_eq!(response.status(), 200);
    let days: Value = response.json().await.expect("json");
    let states: Vec<(&str, &str, u64)> = days
        .as_array()
        .expect("days")
        .iter()
        .map(|d| {
            (
                d["date"].as_str().expect("date"),
                d["state"].as_str().expect("state"),
                d["minutes_present"].as_u64().expect("minutes"),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("2023-01-01", "partial", 2),
            ("2023-01-02", "loaded", 1440),
            ("2023-01-03", "arriving", 3),
            ("2023-01-04", "changed", 3),
            ("2023-01-05", "failed", 2),
            ("2023-01-06", "empty", 0),
            ("2023-01-07", "complete", 1440),
        ]
    );
    assert_eq!(days[1]["rows"], 1440 * rows_per_file());
    assert_eq!(days[1]["minutes_loaded"], 1440);
    assert_eq!(days[4]["latest_job"]["id"], failed.id.to_string());
    assert_eq!(days[4]["latest_job"]["status"], "failed");
    assert_eq!(days[5]["latest_job"], Value::Null);

    let (status, _) = problem(app.get("/days?from=2023-01-07&to=2023-01-01").await).await;
    assert_eq!(status, 400);
    let (status, _) = problem(app.get("/days?from=2023-01-01").await).await;
    assert_eq!(status, 400);
}

/// With `WATCH=on` the days are read from the file ledger, never from the source: an
/// API-only instance with an empty data directory reports what the watcher of another
/// instance recorded.
#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn with_a_watcher_the_days_come_from_the_ledger_not_the_source(pool: PgPool) {
    let empty = tempfile::tempdir().expect("dir");
    let app = spawn_app_with(&pool, empty.path(), |s| {
        api_only(s);
        s.pipeline.watch = api::configuration::Switch::On;
    })
    .await;
    sqlx::query(
        "INSERT INTO ops.minute_files (day, minute, name, size, mtime, fingerprint)
         SELECT DATE '2023-01-03', m, format('2023-01-03 %s:00.parquet', m), 1000,
                TIMESTAMPTZ '2023-02-01 00:00+00', 'f'
         FROM generate_series(0, 1439) AS m",
    )
    .execute(&pool)
    .await
    .expect("a watcher's records");
    sqlx::query("UPDATE ops.minute_files SET gone_at = now() WHERE minute >= 1437")
        .execute(&pool)
        .await
        .expect("three files gone");
    let days: Value = app
        .get("/days?from=2023-01-02&to=2023-01-03")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(days[0]["minutes_present"], 0);
    assert_eq!(days[1]["minutes_present"], 1437);
    assert_eq!(days[1]["state"], "arriving");
    app.stop().await;
}

/// Without a watcher one listing answers for a few seconds: files added meanwhile show
/// once it is older than that.
#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn without_a_watcher_one_listing_is_shared_for_a_few_seconds(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:01");
    let app = spawn_app_with(&pool, data.path(), api_only).await;
    let present = |days: Value| days[0]["minutes_present"].as_u64().expect("minutes");
    // The listing is made between these two instants.
    let before = std::time::Instant::now();
    let first: Value = app
        .get("/days?from=2023-01-01&to=2023-01-01")
        .await
        .json()
        .await
        .expect("json");
    let after = std::time::Instant::now();
    assert_eq!(present(first), 2);
    add_minutes(data.path(), "2023-01-01 00:02", "2023-01-01 00:02");
    let second: Value = app
        .get("/days?from=2023-01-01&to=2023-01-01")
        .await
        .json()
        .await
        .expect("json");
    if before.elapsed() < api::queries::files::SHARED_FOR {
        assert_eq!(present(second), 2, "the shared listing answered");
    }
    tokio::time::sleep(api::queries::files::SHARED_FOR.saturating_sub(after.elapsed())).await;
    let third: Value = app
        .get("/days?from=2023-01-01&to=2023-01-01")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        present(third),
        3,
        "a new listing once the shared one is old"
    );
    app.stop().await;
}
