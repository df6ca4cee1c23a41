//! `/partitions`: what each loaded day holds.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use loader::{DayStats, PartitionInfo};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::catalog::{DatasetParam, DatasetQuery};
use crate::domain::LoadDate;
use crate::problem::{ApiError, Problem};
use crate::routes::endpoint::Endpoint;
use actix_web::web::ServiceConfig;

// The API's own copy of the loader's `PartitionInfo`, so that the loader stays free of
// HTTP and OpenAPI concerns.
/// A loaded day of `dwh.data_sample`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "date": "2023-01-01", "partition": "data_sample_p20230101", "rows": 2756160,
    "files": 1440, "source_bytes": 224745970, "size_bytes": 480534528,
    "loaded_at": "2026-11-25T10:00:02.510000Z", "job_id": "0193a0c4-5a4e-7cc1-9d7e-2f0c1f6f3b11",
    "partial": false, "missing_minutes": []
}))]
pub struct Partition {
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// The day's partition table in schema `dwh`.
    pub partition: String,
    pub rows: i64,
    /// Parquet files the day was loaded from.
    pub files: i32,
    /// Bytes of Parquet the day was loaded from.
    pub source_bytes: i64,
    /// Size of the partition on disk (table, indexes, TOAST).
    pub size_bytes: i64,
    pub loaded_at: DateTime<Utc>,
    /// The job that loaded it (null when loaded with the `loader` CLI).
    pub job_id: Option<Uuid>,
    /// Loaded from fewer than its 1,440 minute files, because the load allowed a partial day.
    pub partial: bool,
    /// The minutes (`HH:MM`) the day was loaded without; empty for a whole day.
    pub missing_minutes: Vec<String>,
}

impl From<PartitionInfo> for Partition {
    fn from(p: PartitionInfo) -> Self {
        let partial = p.is_partial();
        Self {
            date: p.day,
            partition: p.partition,
            rows: p.rows,
            files: p.files,
            source_bytes: p.source_bytes,
            size_bytes: p.size_bytes,
            loaded_at: p.loaded_at,
            job_id: p.job_id,
            partial,
            missing_minutes: p
                .missing_minutes
                .iter()
                .map(|t| t.format("%H:%M").to_string())
                .collect(),
        }
    }
}

/// A loaded day with the counts the old pipeline's check reported.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "date": "2023-01-01", "rows": 2756160, "distinct_department_names": 100,
    "distinct_sensor_serials": 1876, "distinct_product_names": 1000,
    "partition": {"date": "2023-01-01", "partition": "data_sample_p20230101", "rows": 2756160,
        "files": 1440, "source_bytes": 224745970, "size_bytes": 480534528,
        "loaded_at": "2026-11-25T10:00:02.510000Z", "job_id": null,
        "partial": false, "missing_minutes": []}
}))]
pub struct DaySummary {
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// Rows the day holds, and below its distinct names: counted by its load while the rows
    /// streamed, so reading them costs no scan.
    pub rows: i64,
    /// The sample's distinct names; a declared dataset's day has none of these three.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distinct_department_names: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distinct_sensor_serials: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distinct_product_names: Option<i64>,
    pub partition: Partition,
}

/// List the loaded days.
#[utoipa::path(
    get,
    path = "/partitions",
    tag = "partitions",
    params(DatasetQuery),
    responses(
        (status = 200, description = "Every loaded day, oldest first", body = Vec<Partition>),
        (status = 404, description = "There is no such dataset (`unknown-dataset`, with the `datasets` there are)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_partitions(
    dataset: DatasetParam,
    pool: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    let days: Vec<Partition> = dataset
        .partitions(&pool)
        .await?
        .into_iter()
        .map(Partition::from)
        .collect();
    Ok(HttpResponse::Ok().json(days))
}

/// Row count and distinct counts of one loaded day.
#[utoipa::path(
    get,
    path = "/partitions/{date}",
    tag = "partitions",
    params(("date" = String, Path, format = Date, description = "The day, `YYYY-MM-DD`", example = "2023-01-01"), DatasetQuery),
    responses(
        (status = 200, description = "The day's counts", body = DaySummary),
        (status = 400, description = "The date is malformed or impossible", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The day has not been loaded; or there is no such dataset (`unknown-dataset`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_partition(
    date: web::Path<String>,
    dataset: DatasetParam,
    pool: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    let date = LoadDate::parse("date", &date)?.get();
    let info = dataset.partition(&pool, date).await?.ok_or_else(|| {
        let (of, query) = match dataset.is_sample() {
            true => (String::new(), String::new()),
            false => (
                format!(" of {}", dataset.name()),
                format!("&dataset={}", dataset.name()),
            ),
        };
        ApiError::NotFound(format!(
            "{date}{of} has not been loaded; POST /jobs?date={date}{query} loads it"
        ))
    })?;
    if !dataset.is_sample() {
        // A declared dataset's day: its rows, without the sample's name counts.
        return Ok(HttpResponse::Ok().json(DaySummary {
            date,
            rows: info.rows,
            distinct_department_names: None,
            distinct_sensor_serials: None,
            distinct_product_names: None,
            partition: info.into(),
        }));
    }
    let stats: DayStats = loader::day_stats(&pool, &info).await?;
    Ok(HttpResponse::Ok().json(DaySummary {
        date,
        rows: stats.rows,
        distinct_department_names: Some(stats.distinct_department_names),
        distinct_sensor_serials: Some(stats.distinct_sensor_serials),
        distinct_product_names: Some(stats.distinct_product_names),
        partition: info.into(),
    }))
}

pub fn configure(config: &mut ServiceConfig) {
    config
        .service(Endpoint::at("/partitions").get(list_partitions).done())
        .service(Endpoint::at("/partitions/{date}").get(get_partition).done());
}
