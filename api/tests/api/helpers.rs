//! Spawns the real application on a random port against the test's fresh database. The
//! shared fixtures (minute files, row counts, checksums) come from `testkit`.

use std::path::Path;
use std::time::{Duration, Instant};

use api::configuration::{Role, Settings, Switch};
use api::domain::{Job, JobStatus};
use api::startup::Application;
use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use testkit::*;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Fast heartbeats and polls so that tests see state changes quickly.
/// (The database URL is unused: the app is given a pool to the test's database.)
pub fn test_settings(data_dir: &Path) -> Settings {
    let mut settings = Settings::new("postgres://unused", data_dir.to_path_buf());
    settings.workers.heartbeat_ms = 50;
    settings.workers.poll_ms = 50;
    // Most tests queue their jobs themselves; the pipeline tests turn the watcher on.
    settings.pipeline.watch = Switch::Off;
    settings
}

pub async fn spawn_app(pool: &PgPool, data_dir: &Path) -> TestApp {
    spawn_app_with(pool, data_dir, |_| {}).await
}

/// Spawns an app with its own connection pool to the test database (as a second process
/// would have), after `tweak` adjusts the settings.
pub async fn spawn_app_with(
    pool: &PgPool,
    data_dir: &Path,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = test_settings(data_dir);
    tweak(&mut settings);
    let own_pool = PgPoolOptions::new()
        .max_connections(settings.workers.db_max_connections)
        .connect_with(pool.connect_options().as_ref().clone())
        .await
        .expect("app pool");
    let application = Application::build_with_pool(settings, own_pool)
        .await
        .expect("app builds");
    let address = format!("http://127.0.0.1:{}", application.port());
    let shutdown = application.shutdown_token();
    let handle = tokio::spawn(application.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // The server closes a keep-alive connection after 5 idle seconds; a client
            // that reuses one at that moment gets `IncompleteMessage`. Dropping idle
            // connections well before then avoids the race.
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .expect("client"),
        shutdown,
        handle: Some(handle),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post(&self, path: &str) -> reqwest::Response {
        self.client.post(self.url(path)).send().await.expect("POST")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// POST /jobs?date=…&allow_partial=true (fixtures hold a few minutes of a day) that
    /// must be accepted; returns the job.
    pub async fn queue(&self, date: &str) -> Job {
        let response = self
            .post(&format!("/jobs?date={date}&allow_partial=true"))
            .await;
        assert_eq!(response.status(), 202, "{:?}", response.text().await);
        response.json().await.expect("job")
    }

    pub async fn job(&self, id: uuid::Uuid) -> Job {
        let response = self.get(&format!("/jobs/{id}")).await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("job")
    }

    /// Polls the job until `done` holds for it (at most 60 s).
    pub async fn wait_for(&self, id: uuid::Uuid, done: impl Fn(&Job) -> bool) -> Job {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let job = self.job(id).await;
            if done(&job) {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "job never reached the expected state: {job:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn wait_until_final(&self, id: uuid::Uuid) -> Job {
        self.wait_for(id, |j| j.status.is_final()).await
    }

    /// Stops the app as SIGTERM would and waits until it has stopped.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(handle) = self.handle.take() {
            handle.await.expect("app task").expect("app stops cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Holds SHARE on dwh.data_sample, which conflicts with both ATTACH and DETACH PARTITION:
/// a load waits at its swap until the returned transaction ends.
pub async fn block_swaps(pool: &PgPool) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query("LOCK TABLE dwh.data_sample IN SHARE MODE")
        .execute(&mut *tx)
        .await
        .expect("lock");
    tx
}

/// Waits until the job has copied all its rows (so it is at the swap).
pub async fn wait_until_copied(app: &TestApp, id: uuid::Uuid) -> Job {
    app.wait_for(id, |j| {
        j.status == JobStatus::Running
            && j.progress
                .files_total
                .is_some_and(|t| t > 0 && j.progress.files_done == t)
    })
    .await
}

/// Two minutes of 2023-01-02, and two of 2023-01-03 whose second is not Parquet (a load of
/// that day fails).
pub fn a_good_day_and_a_bad_one() -> tempfile::TempDir {
    let data = minutes_dir("2023-01-02 00:00", "2023-01-02 00:01");
    add_minutes(data.path(), "2023-01-03 00:00", "2023-01-03 00:01");
    std::fs::write(
        data.path().join("2023-01-03 00:01:00.parquet"),
        b"not parquet",
    )
    .expect("a bad file");
    data
}

/// Jobs in `ops.jobs`, whatever their status.
pub async fn job_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM ops.jobs")
        .fetch_one(pool)
        .await
        .expect("count")
}

pub async fn problem(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json", "status {status}");
    let body: Value = response.json().await.expect("problem body");
    assert_eq!(body["status"].as_u64(), Some(u64::from(status)), "{body}");
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:dwh-loader:problem:")),
        "{body}"
    );
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    (status, body)
}

pub fn api_only(settings: &mut Settings) {
    settings.workers.role = Role::Api;
}
