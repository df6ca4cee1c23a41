//! Backfills that choose their days (`reprocess=missing|failed|changed|all`) and dry runs
//! (`dry_run=true`), against real loads, real failures and real file changes.

use std::time::{Duration, SystemTime};

use api::domain::JobStatus;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::*;

const RANGE: &str = "/jobs?from=2023-01-01&to=2023-01-04&allow_partial=true";

async fn backfill(app: &TestApp, query: &str) -> (u16, Value) {
    let response = app.post(&format!("{RANGE}{query}")).await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

fn dates(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|v| {
            v.get("date")
                .unwrap_or(v)
                .as_str()
                .expect("a date")
                .to_owned()
        })
        .collect()
}

/// Four days of two minutes each; 01-01 and 01-02 loaded, 01-03's load failed (a corrupt
/// file, since replaced by a good one), 01-04 never loaded.
async fn month_so_far(pool: &PgPool) -> (tempfile::TempDir, TestApp) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:01");
    for day in ["2023-01-02", "2023-01-03", "2023-01-04"] {
        add_minutes(
            data.path(),
            &format!("{day} 00:00"),
            &format!("{day} 00:01"),
        );
    }
    let app = spawn_app(pool, data.path()).await;
    for day in ["2023-01-01", "2023-01-02"] {
        let job = app.queue(day).await;
        assert_eq!(
            app.wait_until_final(job.id).await.status,
            JobStatus::Succeeded
        );
    }
    let good = std::fs::read(data.path().join("2023-01-03 00:01:00.parquet")).expect("read");
    std::fs::write(
        data.path().join("2023-01-03 00:01:00.parquet"),
        b"not parquet",
    )
    .expect("corrupt");
    let job = app.queue("2023-01-03").await;
    assert_eq!(app.wait_until_final(job.id).await.status, JobStatus::Failed);
    std::fs::write(data.path().join("2023-01-03 00:01:00.parquet"), good).expect("repair");
    (data, app)
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn missing_and_failed_choose_their_days_and_a_dry_run_queues_nothing(pool: PgPool) {
    let (_data, app) = month_so_far(&pool).await;
    let before = job_count(&pool).await;

    let (status, plan) = backfill(&app, "&reprocess=missing&dry_run=true").await;
    assert_eq!(status, 200);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(dates(&plan["would_queue"]), ["2023-01-03", "2023-01-04"]);
    assert_eq!(dates(&plan["skipped"]), ["2023-01-01", "2023-01-02"]);
    assert_eq!(plan["skipped"][0]["reason"], "already loaded");
    assert_eq!(job_count(&pool).await, before, "a dry run queues nothing");

    let (status, done) = backfill(&app, "&reprocess=failed").await;
    assert_eq!(status, 202);
    let created: Vec<String> = done["created"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["date"].as_str().expect("date").to_owned())
        .collect();
    assert_eq!(created, ["2023-01-03"]);
    assert_eq!(job_count(&pool).await, before + 1);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn changed_finds_the_days_whose_files_differ_from_their_load(pool: PgPool) {
    let (data, app) = month_so_far(&pool).await;
    let (_, plan) = backfill(&app, "&reprocess=changed&dry_run=true").await;
    assert_eq!(dates(&plan["would_queue"]), Vec::<String>::new(), "{plan}");

    // A file of 01-02 is rewritten after the load (same bytes, a later time), and 01-01
    // gains a minute.
    let touched = data.path().join("2023-01-02 00:00:00.parquet");
    let file = std::fs::File::options()
        .append(true)
        .open(&touched)
        .expect("open");
    file.set_modified(SystemTime::now() + Duration::from_secs(5))
        .expect("touch");
    add_minutes(data.path(), "2023-01-01 00:02", "2023-01-01 00:02");
    let (_, plan) = backfill(&app, "&reprocess=changed&dry_run=true").await;
    assert_eq!(
        dates(&plan["would_queue"]),
        ["2023-01-01", "2023-01-02"],
        "{plan}"
    );
    assert_eq!(
        dates(&plan["skipped"]),
        ["2023-01-03", "2023-01-04"],
        "never loaded: reprocess=missing's days"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn reprocess_and_dry_run_need_a_range(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:01");
    let app = spawn_app_with(&pool, data.path(), api_only).await;
    for query in ["&reprocess=missing", "&dry_run=true"] {
        let (status, _) = problem(app.post(&format!("/jobs?date=2023-01-01{query}")).await).await;
        assert_eq!(status, 400, "{query}");
    }
    let (status, _) = problem(app.post(&format!("{RANGE}&reprocess=sometimes")).await).await;
    assert_eq!(status, 400);
}
