//! The real `api` binary as a child process, for the tests that kill, stop or pause it,
//! and the job's row as those tests read it straight from the table.

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use uuid::Uuid;

pub struct ApiProcess {
    child: Child,
}

impl ApiProcess {
    /// Starts the binary with fast heartbeats, a reaper that takes a job back after 1 s of
    /// silence and many attempts, and no watcher; it writes its JSON log to `log`.
    pub fn start(database_url: &str, data_dir: &Path, log: &Path) -> Self {
        Self::start_with(database_url, data_dir, log, &[])
    }

    /// [`ApiProcess::start`] with more environment variables (`WATCH`, `LIVE`, …).
    pub fn start_with(
        database_url: &str,
        data_dir: &Path,
        log: &Path,
        env: &[(&str, &str)],
    ) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_api"))
            .env("DATABASE_URL", database_url)
            .env("DATA_DIR", data_dir)
            .env("BIND", "127.0.0.1:0")
            .env("HEARTBEAT_MS", "50")
            .env("POLL_MS", "50")
            .env("STALE_AFTER_SECS", "1")
            .env("MAX_ATTEMPTS", "50")
            .env("LOG_FORMAT", "json")
            .env("WATCH", "off")
            .envs(env.iter().copied())
            .env_remove("API_TOKEN")
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start the api binary");
        Self { child }
    }

    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    pub fn terminate(mut self) -> ExitStatus {
        self.signal("TERM");
        self.child.wait().expect("wait")
    }

    /// SIGTERM, then waits at most `limit` for the process to exit: `None` if it did not
    /// (it is then killed).
    pub fn terminate_within(mut self, limit: Duration) -> Option<ExitStatus> {
        self.signal("TERM");
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// SIGSTOP: the process stops where it is, its connections stay open.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// SIGCONT.
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{name}");
    }
}

impl Drop for ApiProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use testkit::roles::database_url;

#[derive(Debug, sqlx::FromRow)]
pub struct JobRow {
    pub status: String,
    pub attempt: i32,
    pub worker_id: Option<String>,
    pub files_done: i64,
    pub files_total: Option<i64>,
    pub error_message: Option<String>,
}

pub async fn job_row(pool: &PgPool, id: Uuid) -> JobRow {
    sqlx::query_as(
        "SELECT status, attempt, worker_id, files_done, files_total, error_message
         FROM ops.jobs WHERE id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .expect("job row")
}

/// Polls `check` until it holds; fails the test after a minute.
pub async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
