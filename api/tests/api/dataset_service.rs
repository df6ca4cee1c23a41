//! What the tests of several datasets in one service share: the real `api` binary with a
//! datasets file, and the meters' hourly readings they write as a dataset of their own.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Float64Array, Int64Array, RecordBatch, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use chrono::NaiveDate;
use serde_json::Value;
use sqlx::PgPool;

use crate::process::{ApiProcess, wait_until};

pub const READINGS_PER_HOUR: i64 = 10;

/// The meters' declaration: hourly files under `<source>/YYYY-MM-DD/HH.parquet`, read into
/// `<table>`; `more` adds keys (a completeness rule, …).
pub fn meters_declaration(
    name: &str,
    table: &str,
    source: &str,
    files: &str,
    more: &str,
) -> String {
    format!(
        r#"
[[dataset]]
name = "{name}"
table = "{table}"
source = "{source}"
files = "{files}"
partition_column = "read_at"
{more}
columns = [
    {{ name = "meter", type = "bigint", not_null = true }},
    {{ name = "read_at", type = "timestamp", not_null = true }},
    {{ name = "kwh", type = "double precision" }},
]
"#
    )
}

fn micros_of(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp_micros()
}

/// Hour `hour`'s readings of `date`: meter `hour * 100 + i` read at `hour:0i`, `i / 4` kWh.
pub fn hour_batch(date: NaiveDate, hour: i64) -> RecordBatch {
    let ids: Vec<i64> = (0..READINGS_PER_HOUR).map(|i| hour * 100 + i).collect();
    let at: Vec<i64> = (0..READINGS_PER_HOUR)
        .map(|i| micros_of(date) + hour * 3_600_000_000 + i * 60_000_000)
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

/// Writes hour `hour` of `date` at `path`, under a temporary name renamed into place (as
/// a careful writer does), making its folder.
pub fn write_hour(path: &Path, date: NaiveDate, hour: i64) {
    let folder = path.parent().expect("folder");
    std::fs::create_dir_all(folder).expect("folder");
    let temporary = folder.join(format!(".{hour:02}.tmp"));
    testkit::write_parquet(&temporary, &hour_batch(date, hour));
    std::fs::rename(&temporary, path).expect("rename");
}

/// The day's 24 hourly files under `root/YYYY-MM-DD/HH.parquet`.
pub fn write_meters_day(root: &Path, date: NaiveDate) {
    for hour in 0..24 {
        let path = root
            .join(date.to_string())
            .join(format!("{hour:02}.parquet"));
        write_hour(&path, date, hour);
    }
}

/// (meter, read_at as text, kwh) of every reading of `date` in `table`, in meter order.
pub async fn meter_rows(pool: &PgPool, table: &str, date: NaiveDate) -> Vec<(i64, String, f64)> {
    sqlx::query_as(&format!(
        "SELECT meter, read_at::text, kwh FROM {table}
         WHERE read_at >= $1 AND read_at < $1 + 1 ORDER BY meter, read_at"
    ))
    .bind(date)
    .fetch_all(pool)
    .await
    .expect("meters")
}

/// What [`meter_rows`] gives for `hours` of `date` written by [`write_hour`].
pub fn expected_meter_rows(
    date: NaiveDate,
    hours: std::ops::Range<i64>,
) -> Vec<(i64, String, f64)> {
    hours
        .flat_map(|hour| {
            (0..READINGS_PER_HOUR).map(move |i| {
                let at = format!("{date} {hour:02}:{i:02}:00");
                (hour * 100 + i, at, i as f64 / 4.0)
            })
        })
        .collect()
}

/// The binary serving a datasets file, on a free port.
pub struct Service {
    /// Held for its lifetime: dropping it stops the binary.
    _api: ApiProcess,
    pub base: String,
    pub client: reqwest::Client,
    /// Its log: shown when the test fails (it lives in the test's temporary folder).
    log: std::path::PathBuf,
}

impl Drop for Service {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(60)..].join("\n");
            eprintln!(
                "the api's log, last lines ({}):\n{tail}",
                self.log.display()
            );
        }
    }
}

impl Service {
    /// Watching (settle 1 s, rescan 1 s), two workers; `env` adds or overrides settings.
    pub fn start(db: &str, data: &Path, datasets: &Path, log: &Path, env: &[(&str, &str)]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let bind = format!("127.0.0.1:{port}");
        let datasets = datasets.display().to_string();
        let mut vars = vec![
            ("BIND", bind.as_str()),
            ("DATASETS_FILE", datasets.as_str()),
            ("WATCH", "on"),
            ("SETTLE_SECS", "1"),
            ("RESCAN_SECS", "1"),
            ("WORKERS", "2"),
        ];
        vars.extend_from_slice(env);
        Self {
            _api: ApiProcess::start_with(db, data, log, &vars),
            base: format!("http://{bind}"),
            client: reqwest::Client::new(),
            log: log.to_path_buf(),
        }
    }

    pub async fn until_ready(&self) {
        wait_until("the API answers", async || {
            self.client
                .get(format!("{}/readyz", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .send()
            .await
            .expect("POST");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON"))
    }

    pub async fn text(&self, path: &str) -> String {
        let response = self.client.get(format!("{}{path}", self.base)).send().await;
        response.expect("GET").text().await.expect("text")
    }

    /// The state `GET /days` gives `date` of `query` (`&dataset=…` or nothing).
    pub async fn day_state(&self, date: &str, query: &str) -> String {
        let (status, days) = self
            .get(&format!("/days?from={date}&to={date}{query}"))
            .await;
        assert_eq!(status, 200, "{days}");
        days[0]["state"].as_str().expect("state").to_owned()
    }

    /// Waits until `GET /days` says the day of `query` is loaded.
    pub async fn until_loaded(&self, date: &str, query: &str) {
        wait_until(&format!("{date}{query} is loaded"), async || {
            self.day_state(date, query).await == "loaded"
        })
        .await;
    }

    pub async fn final_job(&self, id: &Value) -> Value {
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
