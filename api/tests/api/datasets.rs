//! Two datasets in one service, through the real `api` binary: the sample's minute files
//! and an hourly dataset written here, each loaded by the watcher by itself with its rows
//! exact; a POST for each; a rollback of one that leaves the other alone; an unknown
//! dataset answered 404 naming the known ones; `GET /datasets`; the metrics' label.

use chrono::NaiveDate;
use sqlx::PgPool;

use crate::dataset_service::*;
use crate::helpers::*;
use crate::process::database_url;

const SAMPLE_DAY: &str = "2023-01-01";
const METERS_DAY: &str = "2024-03-09";

fn meters_day() -> NaiveDate {
    METERS_DAY.parse().expect("date")
}

async fn meters_of_day(pool: &PgPool) -> Vec<(i64, String, f64)> {
    meter_rows(pool, "energy.meters", meters_day()).await
}

fn expected_meters() -> Vec<(i64, String, f64)> {
    expected_meter_rows(meters_day(), 0..24)
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn two_datasets_load_by_themselves_side_by_side_and_roll_back_alone(pool: PgPool) {
    let root = tempfile::tempdir().expect("root");
    let data = root.path().join("minutes");
    std::fs::create_dir_all(&data).expect("minutes dir");
    let datasets = root.path().join("datasets.toml");
    let declaration = meters_declaration(
        "meters",
        "energy.meters",
        "meters",
        "%Y-%m-%d/%H.parquet",
        r#"indexes = ["btree (meter, read_at)"]"#,
    );
    std::fs::write(&datasets, declaration).expect("datasets file");
    let db = database_url(&pool).await;
    let api = Service::start(&db, &data, &datasets, &root.path().join("api.log"), &[]);

    // The files arrive after the service started: the watchers see them land.
    let minutes = minutes_dir("2023-01-01 00:00", "2023-01-01 23:59");
    for entry in std::fs::read_dir(minutes.path()).expect("minutes") {
        let path = entry.expect("entry").path();
        std::fs::rename(&path, data.join(path.file_name().expect("name"))).expect("move");
    }
    write_meters_day(&root.path().join("meters"), meters_day());
    api.until_loaded(SAMPLE_DAY, "").await;
    api.until_loaded(METERS_DAY, "&dataset=meters").await;
    assert_eq!(rows_of_day(&pool, SAMPLE_DAY).await, 1440 * rows_per_file());
    assert_eq!(meters_of_day(&pool).await, expected_meters());
    check_queued_once_by_the_watcher(&pool).await;
    check_datasets_routes(&api).await;
    check_unknown_dataset(&api).await;
    post_each_and_roll_back_one(&api, &pool).await;
    check_views(&api).await;
}

async fn check_queued_once_by_the_watcher(pool: &PgPool) {
    let auto: Vec<(String, String, String)> =
        sqlx::query_as("SELECT dataset, date::text, trigger FROM ops.jobs ORDER BY dataset")
            .fetch_all(pool)
            .await
            .expect("jobs");
    assert_eq!(
        auto,
        [
            ("meters".into(), METERS_DAY.into(), "auto".into()),
            ("sample".into(), SAMPLE_DAY.into(), "auto".into())
        ],
        "each day was queued once, by the watcher"
    );
    let files: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ops.dataset_files
         WHERE dataset = 'meters' AND job_id IS NOT NULL AND loaded_fingerprint = fingerprint",
    )
    .fetch_one(pool)
    .await
    .expect("ledger");
    assert_eq!(
        files, 24,
        "the ledger names the job that loaded each hour's file"
    );
}

async fn check_datasets_routes(api: &Service) {
    // GET /datasets: both, with the meters' columns as PostgreSQL has them.
    let (status, all) = api.get("/datasets").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = all
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["sample", "meters"]);
    let (_, meters) = api.get("/datasets/meters").await;
    assert_eq!(meters["table"], "energy.meters");
    assert_eq!(meters["cadence"], "hour");
    assert_eq!(meters["columns_from"], "table");
    assert_eq!(
        meters["indexes"],
        serde_json::json!(["btree (meter, read_at)"])
    );
    assert_eq!(meters["columns"][1]["type"], "timestamp without time zone");
    assert_eq!(meters["days"]["loaded"], 1);
    assert_eq!(meters["days"]["newest_loaded_day"], METERS_DAY);
}

async fn check_unknown_dataset(api: &Service) {
    // An unknown dataset: 404 naming the known ones, on every route that takes one.
    for path in [
        "/datasets/nope",
        "/days?from=2023-01-01&to=2023-01-01&dataset=nope",
        "/partitions?dataset=nope",
    ] {
        let (status, problem) = api.get(path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(
            problem["type"], "urn:dwh-loader:problem:unknown-dataset",
            "{path}"
        );
        assert_eq!(
            problem["datasets"],
            serde_json::json!(["sample", "meters"]),
            "{path}"
        );
    }
    let (status, _) = api
        .post(&format!("/jobs?date={METERS_DAY}&dataset=nope"))
        .await;
    assert_eq!(status, 404);
}

async fn post_each_and_roll_back_one(api: &Service, pool: &PgPool) {
    // A POST for each: a job of each dataset, each named so.
    let (status, meters_job) = api
        .post(&format!("/jobs?date={METERS_DAY}&dataset=meters"))
        .await;
    assert_eq!(status, 202, "{meters_job}");
    assert_eq!(meters_job["dataset"], "meters");
    let (status, sample_job) = api.post(&format!("/jobs?date={SAMPLE_DAY}")).await;
    assert_eq!(status, 202, "{sample_job}");
    assert_eq!(sample_job["dataset"], "sample");
    for job in [&meters_job, &sample_job] {
        assert_eq!(api.final_job(&job["id"]).await["status"], "succeeded");
    }
    let (_, sample_versions) = api.get(&format!("/days/{SAMPLE_DAY}/versions")).await;
    assert_eq!(sample_versions["current_version"], 2);

    // Rolling the meters' day back to its first version leaves the sample's day alone.
    let (status, rollback) = api
        .post(&format!(
            "/days/{METERS_DAY}/rollback?version=1&dataset=meters"
        ))
        .await;
    assert_eq!(status, 202, "{rollback}");
    assert_eq!(api.final_job(&rollback["id"]).await["status"], "succeeded");
    let (_, meters_versions) = api
        .get(&format!("/days/{METERS_DAY}/versions?dataset=meters"))
        .await;
    assert_eq!(meters_versions["current_version"], 1, "{meters_versions}");
    assert_eq!(meters_of_day(pool).await, expected_meters());
    assert_eq!(
        api.get(&format!("/days/{SAMPLE_DAY}/versions")).await.1,
        sample_versions
    );
    assert_eq!(rows_of_day(pool, SAMPLE_DAY).await, 1440 * rows_per_file());
}

async fn check_views(api: &Service) {
    // The sample's old paths answer the sample; the jobs list filters by dataset.
    let (_, partitions) = api.get("/partitions").await;
    assert_eq!(partitions[0]["date"], SAMPLE_DAY);
    let (_, listed) = api.get("/jobs?dataset=meters").await;
    let listed = listed["jobs"].as_array().expect("jobs").clone();
    assert_eq!(listed.len(), 3, "auto, api and rollback");
    assert!(listed.iter().all(|job| job["dataset"] == "meters"));

    let metrics = api.text("/metrics").await;
    assert!(
        metrics.contains("dwh_jobs{dataset=\"meters\",status=\"succeeded\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("dwh_jobs{dataset=\"sample\",status=\"succeeded\"} 2"),
        "{metrics}"
    );

    // The dashboard lists both; the meters' day page draws its 24 hours and its columns.
    let page = api.text("/").await;
    assert!(
        page.contains("href=\"/?dataset=meters\"") && page.contains("href=\"/?dataset=sample\"")
    );
    let day_page = api
        .text(&format!("/days/{METERS_DAY}?dataset=meters"))
        .await;
    assert_eq!(
        day_page.matches("class=\"slot loaded\"").count(),
        24,
        "{day_page}"
    );
    assert!(day_page.contains("<code>kwh</code>"));
}
