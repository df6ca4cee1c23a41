//! A backfill of one dataset does not hold the workers from another's load: with two
//! workers, a day of the sample queued after a week of the meters' days is claimed while
//! the meters' backfill still runs, and both datasets' loads run side by side.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;

use crate::dataset_service::*;
use crate::helpers::*;
use crate::process::{database_url, wait_until};

const SAMPLE_DAY: &str = "2023-01-01";
const METERS_DAYS: u32 = 6;

fn meters_from() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, 1).expect("date")
}

#[derive(Debug, sqlx::FromRow)]
struct Run {
    dataset: String,
    status: String,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_backfill_of_one_dataset_does_not_hold_back_another(pool: PgPool) {
    let root = tempfile::tempdir().expect("root");
    let minutes = minutes_dir("2023-01-01 00:00", "2023-01-01 23:59");
    for day in meters_from().iter_days().take(METERS_DAYS as usize) {
        write_meters_day(&root.path().join("meters"), day);
    }
    let datasets = root.path().join("datasets.toml");
    let declaration = meters_declaration(
        "meters",
        "energy.meters",
        &root.path().join("meters").display().to_string(),
        "%Y-%m-%d/%H.parquet",
        "",
    );
    std::fs::write(&datasets, declaration).expect("datasets file");
    let db = database_url(&pool).await;
    let log = root.path().join("api.log");

    // Queued with no worker running: the meters' backfill first, the sample's day after.
    let queueing = [("WORKERS", "0"), ("WATCH", "off")];
    let api = Service::start(&db, minutes.path(), &datasets, &log, &queueing);
    api.until_ready().await;
    let to = meters_from() + chrono::Days::new(u64::from(METERS_DAYS) - 1);
    let (status, backfill) = api
        .post(&format!(
            "/jobs?from={}&to={to}&dataset=meters",
            meters_from()
        ))
        .await;
    assert_eq!(status, 202, "{backfill}");
    let (status, sample) = api.post(&format!("/jobs?date={SAMPLE_DAY}")).await;
    assert_eq!(status, 202, "{sample}");
    drop(api); // no worker ran: the jobs wait, queued

    // Two workers: the second takes the sample's day, not the meters' next one.
    let api = Service::start(&db, minutes.path(), &datasets, &log, &[("WATCH", "off")]);
    api.until_ready().await;
    let runs = runs_when_done(&pool).await;
    assert!(runs.iter().all(|r| r.status == "succeeded"), "{runs:#?}");
    assert_eq!(runs.len(), METERS_DAYS as usize + 1);
    let sample_at = runs
        .iter()
        .position(|r| r.dataset == "sample")
        .expect("the sample's job");
    // First come first served would start it last (7th); a claim favours the dataset
    // with fewer running loads. At most three meters' days start first: the two workers'
    // first claims at once (neither sees the other's, so both take the older jobs), and a
    // meters' day (50 ms) done and followed by another before the other worker claims.
    assert!(
        sample_at <= 3,
        "the sample's day waited for the backfill: {runs:#?}"
    );
    let sample = &runs[sample_at];
    assert!(
        runs.iter().any(|r| r.dataset == "meters"
            && r.started_at < sample.finished_at
            && r.finished_at > sample.started_at),
        "the meters' loads ran beside the sample's: {runs:#?}"
    );
    assert_eq!(rows_of_day(&pool, SAMPLE_DAY).await, 1440 * rows_per_file());
    for day in meters_from().iter_days().take(METERS_DAYS as usize) {
        assert_eq!(
            meter_rows(&pool, "energy.meters", day).await,
            expected_meter_rows(day, 0..24)
        );
    }
}

/// Every job, in the order they started, once none is queued or running.
async fn runs_when_done(pool: &PgPool) -> Vec<Run> {
    wait_until("every job ends", async || {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM ops.jobs WHERE status IN ('queued', 'running')",
        )
        .fetch_one(pool)
        .await
        .expect("jobs");
        open == 0
    })
    .await;
    sqlx::query_as(
        "SELECT dataset, status, started_at, finished_at FROM ops.jobs ORDER BY started_at",
    )
    .fetch_all(pool)
    .await
    .expect("runs")
}
