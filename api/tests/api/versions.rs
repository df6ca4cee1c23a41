//! Versions through the API: a replace keeps the old version, `GET /days/{date}/versions`
//! lists them with their audits, `POST /days/{date}/rollback` swaps one back as a job, and
//! a failing audit fails the job naming the check while the day stays as it was.

use std::path::Path;

use api::domain::{Job, JobStatus, JobTrigger};
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::*;

const DATE: &str = "2023-01-01";

/// Replaces the data directory's files with ten minutes of the dataset drawn with `seed`.
fn write_minutes(dir: &Path, seed: u64) {
    for entry in std::fs::read_dir(dir).expect("dir") {
        std::fs::remove_file(entry.expect("entry").path()).expect("remove");
    }
    add_seeded_minutes(dir, "2023-01-01 00:00", "2023-01-01 00:09", seed);
}

/// The committed audit file, with rows per minute only a warning (seed 1 has other
/// counts than the reference's 1,914), written next to the data.
fn lenient_audit_file(dir: &tempfile::TempDir) -> String {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../loader/audits.toml"
    ))
    .expect("the committed audit file")
    .replace(
        "name = \"rows per minute\"\nseverity = \"fail\"",
        "name = \"rows per minute\"\nseverity = \"warn\"",
    );
    let path = dir.path().join("audits.toml");
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

async fn load(app: &TestApp) -> Job {
    let response = app
        .post(&format!("/jobs?date={DATE}&allow_partial=true&force=true"))
        .await;
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
    let job: Job = response.json().await.expect("job");
    app.wait_until_final(job.id).await
}

async fn rollback_to(app: &TestApp, version: i32) -> Job {
    let response = app
        .post(&format!("/days/{DATE}/rollback?version={version}"))
        .await;
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
    assert!(response.headers().contains_key("location"));
    let job: Job = response.json().await.expect("job");
    assert_eq!(
        (job.trigger, job.rollback_to),
        (JobTrigger::Rollback, Some(version))
    );
    app.wait_until_final(job.id).await
}

async fn versions(app: &TestApp) -> Value {
    let response = app.get(&format!("/days/{DATE}/versions")).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

/// (version, current) of each listed version.
fn listed(versions: &Value) -> Vec<(i64, bool)> {
    versions["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().expect("number"),
                v["current"].as_bool().expect("bool"),
            )
        })
        .collect()
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_day_rolls_back_and_forth_between_its_versions(pool: PgPool) {
    let data = tempfile::tempdir().expect("dir");
    let config = tempfile::tempdir().expect("dir");
    let audits = lenient_audit_file(&config);
    let app = spawn_app_with(&pool, data.path(), |s| s.loading.audits_file = Some(audits)).await;

    write_minutes(data.path(), 0);
    let first = load(&app).await;
    assert_eq!(first.status, JobStatus::Succeeded);
    let first_audits = first.audits.expect("the job has its audit");
    assert!(first_audits.iter().all(|a| a.passed), "{first_audits:?}");
    let checksum_first = checksum_of_day(&pool, DATE).await;

    write_minutes(data.path(), 1);
    let second = load(&app).await;
    assert_eq!(second.status, JobStatus::Succeeded, "{:?}", second.error);
    let checksum_second = checksum_of_day(&pool, DATE).await;
    assert_ne!(checksum_first, checksum_second);
    let warning = second
        .audits
        .as_ref()
        .and_then(|a| a.iter().find(|a| !a.passed))
        .expect("a warning");
    assert_eq!(warning.check, "rows per minute");

    let now = versions(&app).await;
    assert_eq!(now["current_version"], 2);
    assert_eq!(listed(&now), [(2, true), (1, false)]);
    assert_eq!(now["versions"][0]["job_id"], second.id.to_string());
    assert_eq!(now["versions"][1]["rows"], 10 * rows_per_file());
    assert!(now["versions"][1]["disk_bytes"].as_i64() > Some(0));
    assert_eq!(
        now["versions"][0]["audits"],
        serde_json::to_value(second.audits.as_ref()).expect("json")
    );

    let back = rollback_to(&app, 1).await;
    assert_eq!(back.status, JobStatus::Succeeded, "{:?}", back.error);
    assert_eq!(back.rows_loaded, Some(10 * rows_per_file()));
    assert_eq!(checksum_of_day(&pool, DATE).await, checksum_first);
    assert_eq!(listed(&versions(&app).await), [(2, false), (1, true)]);
    let partition: Value = app
        .get(&format!("/partitions/{DATE}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(partition["rows"], 10 * rows_per_file());

    let forth = rollback_to(&app, 2).await;
    assert_eq!(forth.status, JobStatus::Succeeded, "{:?}", forth.error);
    assert_eq!(checksum_of_day(&pool, DATE).await, checksum_second);
    assert_eq!(listed(&versions(&app).await), [(2, true), (1, false)]);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_rollback_is_refused_while_the_day_is_busy_or_the_version_is_wrong(pool: PgPool) {
    let data = tempfile::tempdir().expect("dir");
    write_minutes(data.path(), 0);
    let app = spawn_app(&pool, data.path()).await;
    let (status, body) = problem(app.post(&format!("/days/{DATE}/rollback?version=1")).await).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (404, Some("urn:dwh-loader:problem:not-found"))
    );
    load(&app).await;
    load(&app).await;

    let (status, body) = problem(app.post(&format!("/days/{DATE}/rollback?version=2")).await).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (409, Some("urn:dwh-loader:problem:already-current"))
    );
    let (status, _) = problem(app.post(&format!("/days/{DATE}/rollback")).await).await;
    assert_eq!(status, 400);
    let (status, _) = problem(app.post(&format!("/days/{DATE}/rollback?version=0")).await).await;
    assert_eq!(status, 400);
    let (status, _) = problem(app.post(&format!("/days/{DATE}/rollback?version=7")).await).await;
    assert_eq!(status, 404);

    // A load held at its swap: the day is busy, for a rollback as for another load.
    let blocker = block_swaps(&pool).await;
    let loading = app.queue(DATE).await;
    wait_until_copied(&app, loading.id).await;
    let (status, body) = problem(app.post(&format!("/days/{DATE}/rollback?version=1")).await).await;
    assert_eq!(
        (status, body["job_id"].as_str()),
        (409, Some(loading.id.to_string().as_str()))
    );
    blocker.rollback().await.expect("release");
    assert_eq!(
        app.wait_until_final(loading.id).await.status,
        JobStatus::Succeeded
    );

    // A rollback held at its swap: a load, and another rollback, are refused.
    let blocker = block_swaps(&pool).await;
    let response = app.post(&format!("/days/{DATE}/rollback?version=2")).await;
    assert_eq!(response.status(), 202);
    let rolling: Job = response.json().await.expect("job");
    app.wait_for(rolling.id, |j| j.status == JobStatus::Running)
        .await;
    let (status, body) = problem(app.post(&format!("/days/{DATE}/rollback?version=1")).await).await;
    assert_eq!(
        (status, body["job_id"].as_str()),
        (409, Some(rolling.id.to_string().as_str()))
    );
    let (status, _) = problem(
        app.post(&format!("/jobs?date={DATE}&allow_partial=true"))
            .await,
    )
    .await;
    assert_eq!(status, 409);
    blocker.rollback().await.expect("release");
    assert_eq!(
        app.wait_until_final(rolling.id).await.status,
        JobStatus::Succeeded
    );
    assert_eq!(
        listed(&versions(&app).await),
        [(3, false), (2, true), (1, false)]
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_failing_audit_fails_the_job_and_leaves_the_day(pool: PgPool) {
    let data = tempfile::tempdir().expect("dir");
    write_minutes(data.path(), 0);
    let app = spawn_app(&pool, data.path()).await;
    assert_eq!(load(&app).await.status, JobStatus::Succeeded);
    let before = checksum_of_day(&pool, DATE).await;

    write_minutes(data.path(), 1);
    let failed = load(&app).await;
    assert_eq!(failed.status, JobStatus::Failed);
    // Not retried: the same files would fail the same audit.
    assert_eq!(failed.attempt, 1);
    let expected = format!(
        "rows per minute: 10 of 10 minutes hold {} rows, expected 1,914",
        loader::thousands(rows_per_file_of_seed(1) as u64)
    );
    let message = failed.error.expect("an error").message;
    assert!(message.ends_with(&expected), "{message}");
    let audits = failed.audits.expect("the audit is recorded with the job");
    assert_eq!(audits.len(), 5);
    assert!(
        audits
            .iter()
            .any(|a| !a.passed && a.check == "rows per minute")
    );
    assert_eq!(checksum_of_day(&pool, DATE).await, before);
    assert_eq!(listed(&versions(&app).await), [(1, true)]);
}
