//! A bucket as the data source, end to end: the real `api` binary with
//! `DATA_DIR=s3://…` and the standard AWS variables, against a real S3-compatible server
//! (`s3s-fs`). A POSTed day loads from the bucket with the same rows as from a directory;
//! a bad object fails the job naming it; wrong credentials and a stopped server answer
//! 503 with a clear message and no secret; the old day stays in every case.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use sqlx::PgPool;
use testkit::s3::{S3Server, SECRET_KEY, put_bytes, upload_dir};

use crate::helpers::*;
use crate::process::{ApiProcess, database_url, wait_until};

const DAY: &str = "2023-01-01";
const URL: &str = "s3://minutes/january";

/// The binary, serving on a free port, reading the bucket with `env` (the server's
/// variables, maybe altered, and more settings).
fn start_api(url: &str, log: &Path, env: &[(&str, String)]) -> (ApiProcess, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let bind = format!("127.0.0.1:{port}");
    let mut vars: Vec<(&str, &str)> = vec![
        ("DATA_DIR", URL),
        ("BIND", bind.as_str()),
        ("STORAGE_RETRY_SECS", "2"),
        ("MAX_ATTEMPTS", "1"),
    ];
    vars.extend(env.iter().map(|(k, v)| (*k, v.as_str())));
    let api = ApiProcess::start_with(url, Path::new("unused"), log, &vars);
    (api, format!("http://{bind}"))
}

async fn until_ready(client: &reqwest::Client, base: &str) {
    wait_until("the API answers", async || {
        client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
}

async fn post_day(client: &reqwest::Client, base: &str, query: &str) -> (u16, Value) {
    let response = client
        .post(format!("{base}/jobs?date={DAY}&allow_partial=true{query}"))
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

async fn final_job(client: &reqwest::Client, base: &str, id: &str) -> Value {
    let mut job = Value::Null;
    wait_until("the job ends", async || {
        job = client
            .get(format!("{base}/jobs/{id}"))
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON");
        !matches!(job["status"].as_str(), Some("queued" | "running"))
    })
    .await;
    job
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_day_in_a_bucket_loads_through_the_api_and_failures_keep_the_old_day(pool: PgPool) {
    let files = minutes_dir("2023-01-01 00:00", "2023-01-01 00:09");
    // What the day holds when loaded from a directory.
    let app = spawn_app(&pool, files.path()).await;
    let job = app.queue(DAY).await;
    app.wait_until_final(job.id).await;
    app.stop().await;
    let from_dir = checksum_of_day(&pool, DAY).await;
    sqlx::query("TRUNCATE dwh.data_sample, dwh.day_loads")
        .execute(&pool)
        .await
        .expect("empty");

    let mut server = S3Server::start(&["minutes"]);
    let store = server.client("minutes", SECRET_KEY, Duration::from_secs(5));
    upload_dir(store.as_ref(), files.path(), "january").await;
    let url = database_url(&pool).await;
    let logs = tempfile::tempdir().expect("logs");
    let client = reqwest::Client::new();
    let (api, base) = start_api(&url, &logs.path().join("api.log"), &server.env());
    until_ready(&client, &base).await;

    // The day, from the bucket.
    let (status, job) = post_day(&client, &base, "").await;
    assert_eq!(status, 202, "{job}");
    let job = final_job(&client, &base, job["id"].as_str().expect("id")).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(checksum_of_day(&pool, DAY).await, from_dir);

    // A bad object fails the job, named relative to the bucket; the day stays.
    put_bytes(
        store.as_ref(),
        "january/2023-01-01 00:02:00.parquet",
        b"junk".to_vec(),
    )
    .await;
    let (status, job) = post_day(&client, &base, "&force=true").await;
    assert_eq!(status, 202, "{job}");
    let job = final_job(&client, &base, job["id"].as_str().expect("id")).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["file"], "2023-01-01 00:02:00.parquet", "{job}");
    let message = job["error"]["message"].as_str().expect("message");
    assert!(message.contains("not a readable Parquet file"), "{message}");
    assert_eq!(checksum_of_day(&pool, DAY).await, from_dir);
    drop(api);

    wrong_credentials_are_a_503_that_names_no_secret(&server, &url, logs.path(), &client).await;

    // The server stopped: 503 after the retries, not a hang.
    server.stop();
    let (api, base) = start_api(&url, &logs.path().join("stopped.log"), &server.env());
    until_ready(&client, &base).await;
    let (status, problem) = post_day(&client, &base, "").await;
    assert_eq!(status, 503, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .starts_with("cannot read the bucket"),
        "{problem}"
    );
    drop(api);
    assert_eq!(checksum_of_day(&pool, DAY).await, from_dir);
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
}

/// Wrong credentials: 503 at once, saying what to check, without the secret; and a bucket
/// that cannot be listed is not an empty one.
async fn wrong_credentials_are_a_503_that_names_no_secret(
    server: &S3Server,
    url: &str,
    logs: &Path,
    client: &reqwest::Client,
) {
    let mut wrong = server.env();
    wrong.retain(|(k, _)| *k != "AWS_SECRET_ACCESS_KEY");
    wrong.push(("AWS_SECRET_ACCESS_KEY", "not-the-secret".to_owned()));
    let (api, base) = start_api(url, &logs.join("wrong.log"), &wrong);
    until_ready(client, &base).await;
    let (status, problem) = post_day(client, &base, "").await;
    assert_eq!(status, 503, "{problem}");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("access denied") && detail.contains("check the credentials"),
        "{detail}"
    );
    assert!(
        !detail.contains("not-the-secret") && !detail.contains(SECRET_KEY),
        "{detail}"
    );
    let days = client
        .get(format!("{base}/days?from={DAY}&to={DAY}"))
        .send()
        .await
        .expect("GET /days");
    assert_eq!(
        days.status(),
        503,
        "a bucket that cannot be listed is not an empty one"
    );
    drop(api);
}

/// The jobs of the day, as `trigger:status`, oldest first.
async fn jobs_of_day(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT trigger::text || ':' || status::text FROM ops.jobs WHERE date = $1::date
         ORDER BY created_at",
    )
    .bind(DAY)
    .fetch_all(pool)
    .await
    .expect("jobs")
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_complete_day_in_a_watched_bucket_loads_by_itself_once_and_again_when_changed(
    pool: PgPool,
) {
    let server = S3Server::start(&["minutes"]);
    let store = server.client("minutes", SECRET_KEY, Duration::from_secs(5));
    let files = minutes_dir("2023-01-01 00:00", "2023-01-01 23:59");
    upload_dir(store.as_ref(), files.path(), "january").await;
    let url = database_url(&pool).await;
    let logs = tempfile::tempdir().expect("logs");
    let mut env = server.env();
    env.extend([
        ("WATCH", "on".to_owned()),
        ("RESCAN_SECS", "1".to_owned()),
        ("SETTLE_SECS", "1".to_owned()),
    ]);
    let (_api, _base) = start_api(&url, &logs.path().join("api.log"), &env);

    wait_until("the day loads by itself", async || {
        jobs_of_day(&pool).await == ["auto:succeeded"]
    })
    .await;
    assert_eq!(rows_of_day(&pool, DAY).await, 1440 * rows_per_file());
    // More listings and settle periods: still the one job.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(jobs_of_day(&pool).await, ["auto:succeeded"]);
    let recorded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ops.minute_files WHERE day = $1::date AND loaded_by = 'job'",
    )
    .bind(DAY)
    .fetch_one(&pool)
    .await
    .expect("ledger");
    assert_eq!(recorded, 1440, "the ledger names the job for every object");

    // The same bytes put again: a new version of the object, so the day changed.
    let name = "2023-01-01 12:00:00.parquet";
    testkit::s3::put_file(
        store.as_ref(),
        &files.path().join(name),
        &format!("january/{name}"),
    )
    .await;
    wait_until("the changed day reloads", async || {
        jobs_of_day(&pool).await == ["auto:succeeded", "changed:succeeded"]
    })
    .await;
    assert_eq!(rows_of_day(&pool, DAY).await, 1440 * rows_per_file());
}
