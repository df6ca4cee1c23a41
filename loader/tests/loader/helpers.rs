//! The loader's own fixtures: running loads, and looks at the day's leaves. The shared
//! ones (minute files, row counts, checksums) come from `testkit`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use loader::{LoadError, LoadOptions, LoadProgress, LoadReport, load_day};
use sqlx::PgPool;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use testkit::*;

pub fn path_of(dir: &TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// The default options, but accepting a partial day: most fixtures hold a few minutes of
/// a day, not all 1,440 (the tests of whole days say so).
pub fn options() -> LoadOptions {
    LoadOptions {
        allow_partial: true,
        ..LoadOptions::default()
    }
}

/// Loads `date` from `dir` with [`options`], no progress and no cancellation.
pub async fn load(pool: &PgPool, dir: &Path, date: &str) -> Result<LoadReport, LoadError> {
    load_using(pool, dir, date, &options()).await
}

/// Loads `date` from `dir` with `options`, no progress and no cancellation.
pub async fn load_using(
    pool: &PgPool,
    dir: &Path,
    date: &str,
    options: &LoadOptions,
) -> Result<LoadReport, LoadError> {
    load_with(pool, dir, date, options, &CancellationToken::new()).await
}

pub async fn load_with(
    pool: &PgPool,
    dir: &Path,
    date: &str,
    options: &LoadOptions,
    cancel: &CancellationToken,
) -> Result<LoadReport, LoadError> {
    load_day(pool, dir, day(date), options, &|_| {}, cancel).await
}

/// Records every progress report.
#[derive(Default)]
pub struct ProgressLog(pub Mutex<Vec<LoadProgress>>);

impl ProgressLog {
    pub fn record(&self, p: LoadProgress) {
        self.0.lock().expect("lock").push(p);
    }
}

/// The leaves of `date`'s table with their bounds, in order.
pub async fn leaves_of_day(pool: &PgPool, date: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT c.relname::text, pg_get_expr(c.relpartbound, c.oid)
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = to_regclass('dwh.data_sample_p' || to_char($1::date, 'YYYYMMDD'))
         ORDER BY 2",
    )
    .bind(day(date))
    .fetch_all(pool)
    .await
    .expect("leaves")
}

/// A load of a day never loaded before, running in the background and held before its
/// swap: a transaction holds SHARE on `dwh.data_sample`, which attaching the new day's
/// table waits for. While it is held the load owns the day's lock and its staging tables.
pub struct HeldLoad {
    pub task: JoinHandle<Result<LoadReport, LoadError>>,
    blocker: sqlx::Transaction<'static, sqlx::Postgres>,
}

impl HeldLoad {
    /// Starts the load of `date` from `dir` and returns once its staging tables exist.
    pub async fn start(pool: &PgPool, dir: &Path, date: &str) -> Self {
        let mut blocker = pool.begin().await.expect("begin");
        sqlx::query("LOCK TABLE dwh.data_sample IN SHARE MODE")
            .execute(&mut *blocker)
            .await
            .expect("lock");
        let task = {
            let (pool, dir, date) = (pool.clone(), dir.to_path_buf(), date.to_owned());
            tokio::spawn(async move { load(&pool, &dir, &date).await })
        };
        let prefix = format!("data_sample_stage_{}", date.replace('-', ""));
        let deadline = Instant::now() + Duration::from_secs(60);
        while !leftover_tables(pool)
            .await
            .iter()
            .any(|t| t.starts_with(&prefix))
        {
            assert!(!task.is_finished(), "the load ended before it staged");
            assert!(Instant::now() < deadline, "the load never staged");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Self { task, blocker }
    }

    /// Lets the swap go and waits for the load to end.
    pub async fn finish(self) -> Result<LoadReport, LoadError> {
        self.blocker.rollback().await.expect("end the blocker");
        self.task.await.expect("load task")
    }
}
