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
