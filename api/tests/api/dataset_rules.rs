//! Every completeness rule through the watcher of the real `api` binary, and a dataset in
//! a bucket: a Hive-style day waits for its `_SUCCESS` marker however long its parts have
//! settled; a day with `complete = "any"` loads once its files settle; an hourly dataset
//! in a bucket of a real S3-compatible server (`s3s-fs`) loads when its 24th hour lands.
//! Each loads once, by itself, with its rows exact; a part landing later reloads its day. A dataset declared `live` has each
//! hour's rows queryable as soon as its file lands, and its day loaded whole in the end
//! (the live rows replaced, not doubled).

use std::time::Duration;

use chrono::NaiveDate;
use sqlx::PgPool;
use testkit::s3::{S3Server, SECRET_KEY, put_file};

use crate::dataset_service::*;
use crate::process::{database_url, wait_until};

const DAY: &str = "2024-03-09";

fn day() -> NaiveDate {
    DAY.parse().expect("date")
}

fn declarations(root: &std::path::Path) -> String {
    let nightly = root.join("nightly").display().to_string();
    let exports = root.join("exports").display().to_string();
    let live = root.join("live").display().to_string();
    [
        meters_declaration(
            "nightly",
            "energy.nightly",
            &nightly,
            "year=%Y/month=%m/day=%d/*.parquet",
            r#"complete = "_SUCCESS""#,
        ),
        meters_declaration(
            "exports",
            "energy.exports",
            &exports,
            "%Y-%m-%d/*.parquet",
            r#"complete = "any""#,
        ),
        meters_declaration(
            "bucketed",
            "energy.bucketed",
            "s3://meters/hourly",
            "%Y-%m-%d/%H.parquet",
            "",
        ),
        meters_declaration(
            "live",
            "energy.live",
            &live,
            "%Y-%m-%d/%H.parquet",
            "live = true",
        ),
    ]
    .concat()
}

/// The triggers of `dataset`'s jobs, oldest first.
async fn jobs_of(pool: &PgPool, dataset: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT trigger FROM ops.jobs WHERE dataset = $1 ORDER BY created_at")
        .bind(dataset)
        .fetch_all(pool)
        .await
        .expect("jobs")
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn each_completeness_rule_and_a_bucket_load_by_themselves(pool: PgPool) {
    let root = tempfile::tempdir().expect("root");
    let minutes = tempfile::tempdir().expect("the sample's folder");
    let datasets = root.path().join("datasets.toml");
    std::fs::write(&datasets, declarations(root.path())).expect("datasets file");
    let server = S3Server::start(&["meters"]);
    let store = server.client("meters", SECRET_KEY, Duration::from_secs(5));
    let s3_env = server.env();
    let mut env: Vec<(&str, &str)> = s3_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("SETTLE_SECS", "2"));
    let db = database_url(&pool).await;
    let api = Service::start(
        &db,
        minutes.path(),
        &datasets,
        &root.path().join("api.log"),
        &env,
    );
    api.until_ready().await;

    // The nightly parts and the exports' parts land in their folders; the bucket's hours
    // are uploaded one by one.
    let nightly_day = root.path().join("nightly/year=2024/month=03/day=09");
    for hour in 0..3 {
        write_hour(
            &nightly_day.join(format!("part-{hour}.parquet")),
            day(),
            hour,
        );
        write_hour(
            &root.path().join(format!("exports/{DAY}/p{hour}.parquet")),
            day(),
            hour,
        );
    }
    let staged = tempfile::tempdir().expect("staged hours");
    for hour in 0..24 {
        let file = staged.path().join(format!("{hour:02}.parquet"));
        write_hour(&file, day(), hour);
        put_file(
            store.as_ref(),
            &file,
            &format!("hourly/{DAY}/{hour:02}.parquet"),
        )
        .await;
    }

    api.until_loaded(DAY, "&dataset=exports").await;
    api.until_loaded(DAY, "&dataset=bucketed").await;
    assert_eq!(
        meter_rows(&pool, "energy.exports", day()).await,
        expected_meter_rows(day(), 0..3)
    );
    assert_eq!(
        meter_rows(&pool, "energy.bucketed", day()).await,
        expected_meter_rows(day(), 0..24)
    );
    assert_eq!(jobs_of(&pool, "exports").await, ["auto"]);
    assert_eq!(jobs_of(&pool, "bucketed").await, ["auto"]);

    check_changed(&api, &pool, root.path()).await;
    check_marker(&api, &pool, &nightly_day).await;
    check_live(&api, &pool, &root.path().join("live")).await;

    // Loaded once each: a later rescan queues nothing more.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (dataset, jobs) in [("nightly", 1), ("exports", 2), ("bucketed", 1), ("live", 1)] {
        assert_eq!(jobs_of(&pool, dataset).await.len(), jobs, "{dataset}");
    }
}

/// The live dataset: three hours are queryable before the day is whole; the 24 hours
/// load whole, by one job, with the rows exact.
async fn check_live(api: &Service, pool: &PgPool, folder: &std::path::Path) {
    for hour in 0..3 {
        write_hour(
            &folder.join(DAY).join(format!("{hour:02}.parquet")),
            day(),
            hour,
        );
    }
    wait_until("three hours are appended live", async || {
        // The table is made by the first append.
        let made: bool = sqlx::query_scalar("SELECT to_regclass('energy.live') IS NOT NULL")
            .fetch_one(pool)
            .await
            .expect("table");
        made && meter_rows(pool, "energy.live", day()).await.len() == 30
    })
    .await;
    assert_eq!(
        meter_rows(pool, "energy.live", day()).await,
        expected_meter_rows(day(), 0..3)
    );
    assert_eq!(api.day_state(DAY, "&dataset=live").await, "live");
    assert!(jobs_of(pool, "live").await.is_empty());
    for hour in 3..24 {
        write_hour(
            &folder.join(DAY).join(format!("{hour:02}.parquet")),
            day(),
            hour,
        );
    }
    api.until_loaded(DAY, "&dataset=live").await;
    assert_eq!(
        meter_rows(pool, "energy.live", day()).await,
        expected_meter_rows(day(), 0..24)
    );
    assert_eq!(jobs_of(pool, "live").await, ["auto"]);
    let by: Vec<(String, i64)> = sqlx::query_as(
        "SELECT loaded_by, count(*) FROM ops.dataset_files WHERE dataset = 'live' GROUP BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("ledger");
    assert_eq!(
        by,
        [("job".to_owned(), 24)],
        "the day's load took every file"
    );
}

/// The nightly day: its parts settled long ago, but it waits for its marker.
async fn check_marker(api: &Service, pool: &PgPool, nightly_day: &std::path::Path) {
    // The nightly parts settled long ago, but without their marker the day is not whole.
    wait_until("the nightly parts are in the ledger", async || {
        let seen: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM ops.dataset_files WHERE dataset = 'nightly' AND kind = 'file'",
        )
        .fetch_one(pool)
        .await
        .expect("ledger");
        seen == 3
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(jobs_of(pool, "nightly").await.is_empty());
    assert_eq!(api.day_state(DAY, "&dataset=nightly").await, "arriving");
    std::fs::write(nightly_day.join("_SUCCESS"), b"").expect("marker");
    api.until_loaded(DAY, "&dataset=nightly").await;
    assert_eq!(
        meter_rows(pool, "energy.nightly", day()).await,
        expected_meter_rows(day(), 0..3)
    );
    assert_eq!(jobs_of(pool, "nightly").await, ["auto"]);
}

/// A part of the exports' day that lands after its load: the day is reloaded
/// (`changed`), with it.
async fn check_changed(api: &Service, pool: &PgPool, root: &std::path::Path) {
    write_hour(&root.join(format!("exports/{DAY}/p3.parquet")), day(), 3);
    wait_until("the exports' day is reloaded", async || {
        jobs_of(pool, "exports").await == ["auto", "changed"]
            && api.day_state(DAY, "&dataset=exports").await == "loaded"
    })
    .await;
    assert_eq!(
        meter_rows(pool, "energy.exports", day()).await,
        expected_meter_rows(day(), 0..4)
    );
}
