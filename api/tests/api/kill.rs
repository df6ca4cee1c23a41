//! The real `api` binary is killed with SIGKILL at eight points of a running load of a
//! whole day (1,440 files: early and late in the COPY, waiting at the swap, just after the
//! swap is let go) and restarted each time. The job's row says where each kill landed and
//! the day agrees: the old rows while copying or waiting, the new ones once the swap
//! committed, never a mix. In the end the job succeeds with no staging table left.
//! SIGTERM hands the job back and leaves the old day.

use std::path::Path;
use std::time::Duration;

use crate::helpers::*;
use crate::process::{ApiProcess, JobRow, database_url, job_row, wait_until};
use loader::{LoadOptions, load_day};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const DAY: &str = "2023-01-01";

/// Where in a load the process is killed.
#[derive(Clone, Copy, Debug)]
enum KillPoint {
    /// Once a heartbeat reports this share of the day's files copied (at the latest while
    /// the held swap waits).
    Copied(f64),
    /// While the swap waits for a reader's lock.
    AtSwap,
    /// This long after the reader lets the swap go.
    AfterSwapUnblocked(Duration),
}

/// Queues the day's job straight in the table (the process may not be listening yet), or
/// returns the active one.
pub(crate) async fn active_job(pool: &PgPool) -> Uuid {
    let existing: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM ops.jobs WHERE date = $1::date AND status IN ('queued', 'running')",
    )
    .bind(DAY)
    .fetch_optional(pool)
    .await
    .expect("active job");
    if let Some(id) = existing {
        return id;
    }
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO ops.jobs (id, date, max_attempts, allow_partial) VALUES ($1, $2::date, 50, true)")
        .bind(id)
        .bind(DAY)
        .execute(pool)
        .await
        .expect("queue");
    id
}

/// The job runs a new attempt (not the stale row of a killed one) and has copied `share`.
async fn running_with(pool: &PgPool, id: Uuid, after_attempt: i32, share: f64) -> bool {
    let job = job_row(pool, id).await;
    job.status == "running"
        && job.attempt > after_attempt
        && job
            .files_total
            .is_some_and(|total| job.files_done as f64 >= share * total as f64)
}

pub(crate) async fn day_state(pool: &PgPool) -> (i64, String) {
    (
        rows_of_day(pool, DAY).await,
        checksum_of_day(pool, DAY).await,
    )
}

/// Loads the day from its first minutes up to `last` (the "old" rows); returns its state.
pub(crate) async fn load_old_day(pool: &PgPool, last: &str) -> (i64, String) {
    let old_data = minutes_dir("2023-01-01 00:00", last);
    let options = LoadOptions {
        allow_partial: true, // a few hours of the day
        ..LoadOptions::default()
    };
    load_day(
        pool,
        old_data.path(),
        day(DAY),
        &options,
        &|_| {},
        &CancellationToken::new(),
    )
    .await
    .expect("old day loads");
    day_state(pool).await
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn sigkill_anywhere_in_a_load_leaves_the_old_day_or_the_new_one(pool: PgPool) {
    let url = database_url(&pool).await;
    let old = load_old_day(&pool, "2023-01-01 00:09").await;
    let new_data = minutes_dir("2023-01-01 00:00", "2023-01-01 23:59");
    let whole_day = 1440 * rows_per_file();
    let logs = tempfile::tempdir().expect("log dir");
    let log = logs.path().join("api.log");

    let points = [
        KillPoint::Copied(0.0),
        KillPoint::Copied(0.2),
        KillPoint::Copied(0.5),
        KillPoint::Copied(0.8),
        KillPoint::AtSwap,
        KillPoint::AfterSwapUnblocked(Duration::ZERO),
        KillPoint::AfterSwapUnblocked(Duration::from_millis(2)),
        KillPoint::AfterSwapUnblocked(Duration::from_millis(10)),
    ];
    let mut seen = Vec::new();
    let mut swapped = 0;
    // The day as it was before the current point's load: the old day at first, the new
    // one once a kill has landed after a swap (the next point then runs a fresh job).
    let mut before = old.clone();
    for point in points {
        let id = active_job(&pool).await;
        let attempt = job_row(&pool, id).await.attempt;
        // Every point holds the swap back: progress is written per heartbeat, so an unheld
        // load of this size could finish between two heartbeats and never be seen at 90 %.
        let reader = block_swaps(&pool).await;
        let api = ApiProcess::start(&url, new_data.path(), &log);
        kill_at(point, &pool, id, attempt, reader, api).await;
        // The day first: reading it waits for a swap the killed process left in flight
        // (its COMMIT may be on the wire), so that the job's row read after it is final.
        // The row is as the killed run last wrote it: it says where the kill landed, and
        // the day must agree.
        let state = day_state(&pool).await;
        let landed = job_row(&pool, id).await;
        if landed_where_expected(point, &landed, &state, &before, whole_day) {
            swapped += 1;
            before = state.clone();
        }
        seen.push((point, state));
    }
    println!("{swapped} of the kills just after the swap was let go landed after its commit");

    finish_the_job(&pool, &url, new_data.path(), &log).await;
    let new = day_state(&pool).await;
    assert_eq!(new.0, whole_day);
    for (point, state) in &seen {
        assert!(
            state == &old || state == &new,
            "{point:?}: a mix of old and new rows"
        );
    }
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
    let stuck: i64 = sqlx::query_scalar("SELECT count(*) FROM ops.jobs WHERE status = 'running'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(stuck, 0);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn sigterm_hands_the_job_back_and_keeps_the_old_day(pool: PgPool) {
    let url = database_url(&pool).await;
    let old = load_old_day(&pool, "2023-01-01 00:04").await;
    let new_data = minutes_dir("2023-01-01 00:00", "2023-01-01 01:59");
    let logs = tempfile::tempdir().expect("log dir");

    let id = active_job(&pool).await;
    // The swap is held so the load cannot finish before the signal lands.
    let reader = block_swaps(&pool).await;
    let api = ApiProcess::start(&url, new_data.path(), &logs.path().join("api.log"));
    wait_until("the load is half way", async || {
        running_with(&pool, id, 0, 0.5).await
    })
    .await;
    let exit = api.terminate();
    reader.rollback().await.expect("release");

    assert!(exit.success(), "graceful exit: {exit:?}");
    let job = job_row(&pool, id).await;
    assert_eq!((job.status.as_str(), job.attempt), ("queued", 0), "{job:?}");
    assert_eq!(day_state(&pool).await, old);
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
}

/// Waits until the held load reaches `point`, then kills the process there (releasing the
/// held swap first when the point lies after it).
async fn kill_at(
    point: KillPoint,
    pool: &PgPool,
    id: Uuid,
    attempt: i32,
    reader: sqlx::Transaction<'static, sqlx::Postgres>,
    api: ApiProcess,
) {
    match point {
        KillPoint::Copied(share) => {
            wait_until("the load has copied enough", async || {
                running_with(pool, id, attempt, share).await
            })
            .await;
        }
        KillPoint::AtSwap | KillPoint::AfterSwapUnblocked(_) => {
            wait_until("the load waits at the swap", async || {
                running_with(pool, id, attempt, 1.0).await
            })
            .await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    if let KillPoint::AfterSwapUnblocked(delay) = point {
        reader.rollback().await.expect("release");
        tokio::time::sleep(delay).await;
        api.kill();
    } else {
        api.kill();
        reader.rollback().await.expect("release");
    }
}

/// Checks that the job's row (as the killed run last wrote it) and the day agree on where
/// the kill landed; true when it landed after the swap committed.
fn landed_where_expected(
    point: KillPoint,
    landed: &JobRow,
    state: &(i64, String),
    before: &(i64, String),
    whole_day: i64,
) -> bool {
    let total = landed.files_total.expect("the files were listed");
    match point {
        KillPoint::Copied(_) => {
            assert_eq!(landed.status, "running", "{point:?}");
            assert!(landed.files_done < total, "{point:?}: landed while copying");
            assert!(state == before, "{point:?}: the day is as it was");
            false
        }
        KillPoint::AtSwap => {
            assert_eq!(landed.status, "running", "{point:?}");
            assert_eq!(landed.files_done, total, "{point:?}: landed at the swap");
            assert!(state == before, "{point:?}: the day is as it was");
            false
        }
        KillPoint::AfterSwapUnblocked(_) if landed.status == "succeeded" => {
            assert_eq!(state.0, whole_day, "{point:?}: landed after the swap");
            true
        }
        KillPoint::AfterSwapUnblocked(_) => {
            assert_eq!(landed.status, "running", "{point:?}");
            assert!(
                state == before,
                "{point:?}: landed before the swap committed"
            );
            false
        }
    }
}

/// A last start finishes the job; the kills cost attempts, not data.
async fn finish_the_job(pool: &PgPool, url: &str, data: &Path, log: &Path) {
    let id = active_job(pool).await;
    let api = ApiProcess::start(url, data, log);
    wait_until("the job has finished", async || {
        let job = job_row(pool, id).await;
        !matches!(job.status.as_str(), "queued" | "running")
    })
    .await;
    let job = job_row(pool, id).await;
    // `succeeded` commits with the swap; the replaced leaves are dropped just after it.
    wait_until("the replaced leaves are dropped", async || {
        leftover_tables(pool).await.is_empty()
    })
    .await;
    api.kill();
    assert_eq!(job.status, "succeeded", "error: {:?}", job.error_message);
    // The last kill may land after its job's swap committed; then the final start ran a
    // fresh job. Either way every job of the day succeeded, after retries of the killed runs.
    let (jobs, attempts, succeeded): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), sum(attempt), count(*) FILTER (WHERE status = 'succeeded') FROM ops.jobs",
    )
    .fetch_one(pool)
    .await
    .expect("jobs");
    assert_eq!(succeeded, jobs, "every job of the day ended succeeded");
    assert!(attempts > jobs, "the killed runs were retried");
}
