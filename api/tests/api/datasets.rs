//! Two datasets in one service, through the real `api` binary: the sample's minute files
//! and an hourly dataset written here, each loaded by the watcher by itself with its rows
//! exact; a POST for each; a rollback of one that leaves the other alone; an unknown
//! dataset answered 404 naming the known ones; `GET /datasets`; the metrics' label.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Float64Array, Int64Array, RecordBatch, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::*;
use crate::process::{ApiProcess, database_url, wait_until};

const SAMPLE_DAY: &str = "2023-01-01";
const METERS_DAY: &str = "2024-03-09";
/// 2024-03-09 00:00 UTC in microseconds since 1970.
const METERS_DAY_US: i64 = 19_791 * 86_400_000_000;
const READINGS_PER_HOUR: i64 = 10;

const DATASETS: &str = r#"
[[dataset]]
name = "meters"
table = "energy.meters"
source = "meters"
files = "%Y-%m-%d/%H.parquet"
partition_column = "read_at"
columns = [
    { name = "meter", type = "bigint", not_null = true },
    { name = "read_at", type = "timestamp", not_null = true },
    { name = "kwh", type = "double precision" },
]
"#;

/// Hour `hour`'s readings: meter `hour * 100 + i` read at `hour:0i`, `i / 4` kWh.
fn hour_batch(hour: i64) -> RecordBatch {
    let ids: Vec<i64> = (0..READINGS_PER_HOUR).map(|i| hour * 100 + i).collect();
    let at: Vec<i64> = (0..READINGS_PER_HOUR)
        .map(|i| METERS_DAY_US + hour * 3_600_000_000 + i * 60_000_000)
        .collect();
    let kwh: Vec<f64> = (0..READINGS_PER_HOUR).map(|i| i as f64 / 4.0).collect();
    let schema = Schema::new(vec![
        Field::new("meter", DataType::Int64, false),
        Field::new(
            "read_at",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("kwh", DataType::Float64, true),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(TimestampMicrosecondArray::from(at)),
            Arc::new(Float64Array::from(kwh)),
        ],
    )
    .expect("batch")
}

/// The day's 24 hourly files, each written under a temporary name and renamed into place.
fn write_meters_day(root: &Path) {
    let folder = root.join("meters").join(METERS_DAY);
    std::fs::create_dir_all(&folder).expect("folder");
    for hour in 0..24 {
        let temporary = root.join(format!("meters/.{hour:02}.tmp"));
        testkit::write_parquet(&temporary, &hour_batch(hour));
        std::fs::rename(&temporary, folder.join(format!("{hour:02}.parquet"))).expect("rename");
    }
}

struct Service {
    _api: ApiProcess,
    base: String,
    client: reqwest::Client,
}

impl Service {
    fn start(db: &str, data: &Path, datasets: &Path, log: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let bind = format!("127.0.0.1:{port}");
        let datasets = datasets.display().to_string();
        let env = [
            ("BIND", bind.as_str()),
            ("DATASETS_FILE", datasets.as_str()),
            ("WATCH", "on"),
            ("SETTLE_SECS", "1"),
            ("RESCAN_SECS", "1"),
            ("WORKERS", "2"),
        ];
        Self {
            _api: ApiProcess::start_with(db, data, log, &env),
            base: format!("http://{bind}"),
            client: reqwest::Client::new(),
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .send()
            .await
            .expect("POST");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON"))
    }

    async fn text(&self, path: &str) -> String {
        let response = self.client.get(format!("{}{path}", self.base)).send().await;
        response.expect("GET").text().await.expect("text")
    }

    /// Waits until `GET /days` says the day of `query` (`&dataset=…` or nothing) is loaded.
    async fn until_loaded(&self, date: &str, query: &str) {
        wait_until(&format!("{date}{query} is loaded"), async || {
            let (status, days) = self
                .get(&format!("/days?from={date}&to={date}{query}"))
                .await;
            status == 200 && days[0]["state"] == "loaded"
        })
        .await;
    }

    async fn final_job(&self, id: &Value) -> Value {
        let id = id.as_str().expect("job id").to_owned();
        let mut job = Value::Null;
        wait_until("the job ends", async || {
            job = self.get(&format!("/jobs/{id}")).await.1;
            ["succeeded", "failed", "cancelled"].contains(&job["status"].as_str().unwrap_or(""))
        })
        .await;
        job
    }
}

/// (meter, read_at as text, kwh) of every reading of the meters' day, in meter order.
async fn meter_rows(pool: &PgPool) -> Vec<(i64, String, f64)> {
    sqlx::query_as(
        "SELECT meter, read_at::text, kwh FROM energy.meters
         WHERE read_at >= '2024-03-09' AND read_at < '2024-03-10' ORDER BY meter",
    )
    .fetch_all(pool)
    .await
    .expect("meters")
}

fn expected_meter_rows() -> Vec<(i64, String, f64)> {
    (0..24)
        .flat_map(|hour| {
            (0..READINGS_PER_HOUR).map(move |i| {
                let at = format!("2024-03-09 {hour:02}:{i:02}:00");
                (hour * 100 + i, at, i as f64 / 4.0)
            })
        })
        .collect()
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn two_datasets_load_by_themselves_side_by_side_and_roll_back_alone(pool: PgPool) {
    let root = tempfile::tempdir().expect("root");
    let data = root.path().join("minutes");
    std::fs::create_dir_all(&data).expect("minutes dir");
    let datasets = root.path().join("datasets.toml");
    std::fs::write(&datasets, DATASETS).expect("datasets file");
    let db = database_url(&pool).await;
    let api = Service::start(&db, &data, &datasets, &root.path().join("api.log"));

    // The files arrive after the service started: the watchers see them land.
    let minutes = minutes_dir("2023-01-01 00:00", "2023-01-01 23:59");
    for entry in std::fs::read_dir(minutes.path()).expect("minutes") {
        let path = entry.expect("entry").path();
        std::fs::rename(&path, data.join(path.file_name().expect("name"))).expect("move");
    }
    write_meters_day(root.path());
    api.until_loaded(SAMPLE_DAY, "").await;
    api.until_loaded(METERS_DAY, "&dataset=meters").await;
    assert_eq!(rows_of_day(&pool, SAMPLE_DAY).await, 1440 * rows_per_file());
    assert_eq!(meter_rows(&pool).await, expected_meter_rows());
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
    assert_eq!(meter_rows(pool).await, expected_meter_rows());
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
