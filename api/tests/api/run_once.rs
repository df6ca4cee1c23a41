//! Workers that scale to zero: with only an HTTP instance (`ROLE=api`) running, queued
//! jobs are done by `api run-once` processes started for the work, two at a time, each
//! day loaded once; and the exit code says how the job ended.

use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use api::domain::JobStatus;
use sqlx::PgPool;

use crate::helpers::*;
use crate::process::database_url;

/// Runs `api run-once [extra]` to its end, as a platform's job would.
fn run_once(url: &str, data_dir: &Path, log: &Path, extra: &[&str]) -> std::process::Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log");
    Command::new(env!("CARGO_BIN_EXE_api"))
        .arg("run-once")
        .args(extra)
        .env("DATABASE_URL", url)
        .env("DATA_DIR", data_dir)
        .env("HEARTBEAT_MS", "50")
        .env("LOG_FORMAT", "json")
        .env_remove("API_TOKEN")
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start api run-once")
}

async fn exit_of(child: std::process::Child) -> ExitStatus {
    tokio::task::spawn_blocking(move || child.wait_with_output().expect("wait").status)
        .await
        .expect("waiter")
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn run_once_workers_two_at_a_time_load_a_backfill_each_day_once(pool: PgPool) {
    let url = database_url(&pool).await;
    let data = minutes_dir("2023-01-02 00:00", "2023-01-02 00:02");
    add_minutes(data.path(), "2023-01-03 00:00", "2023-01-03 00:02");
    add_minutes(data.path(), "2023-01-04 00:00", "2023-01-04 00:02");
    let logs = tempfile::tempdir().expect("logs");
    let log = logs.path().join("run-once.log");
    let app = spawn_app_with(&pool, data.path(), api_only).await;
    let response = app
        .post("/jobs?from=2023-01-02&to=2023-01-04&allow_partial=true")
        .await;
    assert_eq!(response.status(), 202);

    // Started for the work, two at a time, until nothing is queued.
    let mut exits = Vec::new();
    for _ in 0..3 {
        let queued: i64 =
            sqlx::query_scalar("SELECT count(*) FROM ops.jobs WHERE status = 'queued'")
                .fetch_one(&pool)
                .await
                .expect("count");
        if queued == 0 {
            break;
        }
        let pair = [
            run_once(&url, data.path(), &log, &["--until-empty"]),
            run_once(&url, data.path(), &log, &["--until-empty"]),
        ];
        for child in pair {
            exits.push(exit_of(child).await);
        }
    }
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!exits.is_empty());
    assert!(
        exits.iter().all(ExitStatus::success),
        "{exits:?}\n{log_text}"
    );

    let jobs: Vec<(String, JobStatus, i32)> =
        sqlx::query_as("SELECT date::text, status, attempt FROM ops.jobs ORDER BY date")
            .fetch_all(&pool)
            .await
            .expect("jobs");
    assert_eq!(
        jobs,
        [
            ("2023-01-02".to_owned(), JobStatus::Succeeded, 1),
            ("2023-01-03".to_owned(), JobStatus::Succeeded, 1),
            ("2023-01-04".to_owned(), JobStatus::Succeeded, 1),
        ]
    );
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM ops.job_attempts")
        .fetch_one(&pool)
        .await
        .expect("attempts");
    assert_eq!(runs, 3, "each day loaded once");
    for day in ["2023-01-02", "2023-01-03", "2023-01-04"] {
        assert_eq!(rows_of_day(&pool, day).await, 3 * rows_per_file());
    }
    app.stop().await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn the_exit_code_says_how_the_job_ended(pool: PgPool) {
    let url = database_url(&pool).await;
    let data = minutes_dir("2023-01-02 00:00", "2023-01-02 00:01");
    std::fs::write(data.path().join("2023-01-02 00:02:00.parquet"), b"junk").expect("write");
    let logs = tempfile::tempdir().expect("logs");
    let log = logs.path().join("run-once.log");

    let nothing = exit_of(run_once(&url, data.path(), &log, &[])).await;
    assert_eq!(nothing.code(), Some(3), "no job was queued");
    let none_left = exit_of(run_once(&url, data.path(), &log, &["--until-empty"])).await;
    assert_eq!(none_left.code(), Some(0), "nothing to do is not an error");

    let app = spawn_app_with(&pool, data.path(), api_only).await;
    let job = app.queue("2023-01-02").await;
    let failed = exit_of(run_once(&url, data.path(), &log, &[])).await;
    assert_eq!(failed.code(), Some(4), "the job failed (a corrupt file)");
    assert_eq!(app.job(job.id).await.status, JobStatus::Failed);
    app.stop().await;
}
