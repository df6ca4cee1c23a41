//! Pipeline mode with the real watcher on a real directory: a complete day loads by
//! itself (once), a changed file reloads it, and live minutes are appended as they land,
//! each exactly once.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use api::configuration::{Settings, Switch};
use api::domain::{JobStatus, JobTrigger};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::*;
use crate::process::wait_until;

const DAY: &str = "2023-01-01";

fn watching(settings: &mut Settings) {
    settings.pipeline.watch = Switch::On;
    settings.pipeline.settle_secs = 1;
}

fn watching_live(settings: &mut Settings) {
    watching(settings);
    settings.pipeline.live = Switch::On;
}

/// The jobs of `DAY`, oldest first: (id, trigger, status).
async fn jobs_of_day(pool: &PgPool) -> Vec<(Uuid, JobTrigger, JobStatus)> {
    sqlx::query_as("SELECT id, trigger, status FROM ops.jobs WHERE date = $1 ORDER BY created_at")
        .bind(day(DAY))
        .fetch_all(pool)
        .await
        .expect("jobs")
}

/// Moves every file of `from` into `to` by renaming it, as a copy tool finishing would.
fn move_all(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read") {
        let path = entry.expect("entry").path();
        std::fs::rename(&path, to.join(path.file_name().expect("name"))).expect("rename");
    }
}

/// Rows of each minute of `DAY` that has any, in minute order.
async fn rows_per_minute(pool: &PgPool) -> Vec<(i32, i64)> {
    sqlx::query_as(
        "SELECT (extract(hour FROM create_at) * 60 + extract(minute FROM create_at))::int4 AS m,
                count(*)
         FROM dwh.data_sample WHERE create_at >= $1 AND create_at < $1 + interval '1 day'
         GROUP BY 1 ORDER BY 1",
    )
    .bind(day(DAY).and_hms_opt(0, 0, 0).expect("midnight"))
    .fetch_all(pool)
    .await
    .expect("rows per minute")
}

async fn day_status(app: &TestApp) -> Value {
    let response = app.get(&format!("/days?from={DAY}&to={DAY}")).await;
    assert_eq!(response.status(), 200);
    let days: Value = response.json().await.expect("json");
    days[0].clone()
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_complete_day_loads_by_itself_once_and_a_touched_file_reloads_it(pool: PgPool) {
    let data = tempfile::tempdir().expect("data dir");
    // LIVE=on too: a day complete when first seen is loaded whole, not appended live.
    let app = spawn_app_with(&pool, data.path(), watching_live).await;
    let copy = minutes_dir("2023-01-01 00:00", "2023-01-01 23:59");
    move_all(copy.path(), data.path());
    let arrived = Instant::now();

    // SETTLE_SECS (1) + 5 s for the job to be queued.
    let deadline = arrived + Duration::from_secs(6);
    let auto = loop {
        if let Some(&(id, ..)) = jobs_of_day(&pool).await.first() {
            assert_eq!(rows_of_day(&pool, DAY).await, 0, "nothing appended live");
            break id;
        }
        assert!(Instant::now() < deadline, "no job was queued for the day");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let done = app.wait_until_final(auto).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_eq!(done.trigger, JobTrigger::Auto);
    assert_eq!(rows_of_day(&pool, DAY).await, 1440 * rows_per_file());
    let by_job: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ops.minute_files
         WHERE day = $1 AND loaded_by = 'job' AND job_id = $2 AND loaded_fingerprint = fingerprint",
    )
    .bind(day(DAY))
    .bind(auto)
    .fetch_one(&pool)
    .await
    .expect("ledger");
    assert_eq!(
        by_job, 1440,
        "the ledger names the job as what loaded every file"
    );
    assert_eq!(day_status(&app).await["state"], "loaded");

    // Once: more settle periods and a full listing later, still one job.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(jobs_of_day(&pool).await.len(), 1);

    let touched = std::fs::File::options()
        .append(true)
        .open(data.path().join("2023-01-01 12:00:00.parquet"))
        .expect("open");
    touched.set_modified(SystemTime::now()).expect("touch");
    let reload = loop {
        let jobs = jobs_of_day(&pool).await;
        if jobs.len() == 2 {
            break jobs[1];
        }
        assert!(jobs.len() < 2, "{jobs:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(reload.1, JobTrigger::Changed);
    let done = app.wait_until_final(reload.0).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_eq!(rows_of_day(&pool, DAY).await, 1440 * rows_per_file());
    assert_eq!(day_status(&app).await["state"], "loaded");
    app.stop().await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn live_minutes_are_queryable_as_they_land_each_once(pool: PgPool) {
    let data = tempfile::tempdir().expect("data dir");
    let app = spawn_app_with(&pool, data.path(), watching_live).await;
    let source = minutes_dir("2023-01-01 00:00", "2023-01-01 00:09");

    for k in 0..10 {
        let name = format!("2023-01-01 00:{k:02}:00.parquet");
        std::fs::rename(source.path().join(&name), data.path().join(&name)).expect("land");
        wait_until("the minute is queryable", async || {
            rows_per_minute(&pool).await.len() == k + 1
        })
        .await;
    }
    let expected: Vec<(i32, i64)> = (0..10).map(|m| (m, rows_per_file())).collect();
    assert_eq!(rows_per_minute(&pool).await, expected);
    let status = day_status(&app).await;
    assert_eq!(status["state"], "live", "{status}");
    assert_eq!(status["minutes_loaded"], 10);
    assert_eq!(status["rows"], 10 * rows_per_file());
    assert!(
        jobs_of_day(&pool).await.is_empty(),
        "an incomplete day is not loaded"
    );

    // A restart appends nothing again.
    app.stop().await;
    let app = spawn_app_with(&pool, data.path(), watching_live).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(rows_per_minute(&pool).await, expected);

    // A live minute rewritten with other content: the day says so.
    let edited = edited_minute(3, |_, _| {});
    let sliced = edited.slice(0, 100);
    write_parquet(&data.path().join(".rewrite"), &sliced);
    std::fs::rename(
        data.path().join(".rewrite"),
        data.path().join("2023-01-01 00:03:00.parquet"),
    )
    .expect("rewrite");
    wait_until("the day shows the rewrite", async || {
        day_status(&app).await["state"] == "changed"
    })
    .await;
    assert_eq!(rows_per_minute(&pool).await, expected, "not appended twice");
    app.stop().await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_complete_day_with_a_stray_file_waits_until_the_stray_goes(pool: PgPool) {
    let data = tempfile::tempdir().expect("data dir");
    let app = spawn_app_with(&pool, data.path(), watching).await;
    let copy = minutes_dir("2023-01-01 00:00", "2023-01-01 23:59");
    let stray = "2023-01-01 00:00:00 (1).parquet";
    std::fs::copy(
        copy.path().join("2023-01-01 00:00:00.parquet"),
        copy.path().join(stray),
    )
    .expect("a second copy of a minute");
    move_all(copy.path(), data.path());

    // Its load would be refused as ambiguous: no job, settle period after settle period.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        jobs_of_day(&pool).await.is_empty(),
        "an ambiguous day is not queued"
    );
    let recorded: Vec<String> =
        sqlx::query_scalar("SELECT unnest(names) FROM ops.day_strays WHERE day = $1")
            .bind(day(DAY))
            .fetch_all(&pool)
            .await
            .expect("strays");
    assert_eq!(recorded, [stray]);

    std::fs::remove_file(data.path().join(stray)).expect("the stray goes");
    wait_until("the day is queued once the stray is gone", async || {
        !jobs_of_day(&pool).await.is_empty()
    })
    .await;
    let (id, trigger, _) = jobs_of_day(&pool).await[0];
    assert_eq!(trigger, JobTrigger::Auto);
    let done = app.wait_until_final(id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_eq!(rows_of_day(&pool, DAY).await, 1440 * rows_per_file());
    app.stop().await;
}
