//! What is loaded: per-day partitions and their statistics.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::warehouse::day::Day;
use crate::warehouse::table::Table;

/// One loaded day.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PartitionInfo {
    pub day: NaiveDate,
    /// `dwh.<partition>` holds the day's rows (in its leaf partitions).
    pub partition: String,
    pub rows: i64,
    /// Files and bytes of Parquet the day was loaded from.
    pub files: i32,
    pub source_bytes: i64,
    /// Size on disk of the partition (heap, TOAST, free-space map), bytes.
    pub size_bytes: i64,
    pub loaded_at: DateTime<Utc>,
    pub job_id: Option<Uuid>,
    /// Minutes the day was loaded without (a partial day, allowed explicitly); empty for a
    /// whole day.
    pub missing_minutes: Vec<NaiveTime>,
    /// Counted by the load; null for a day loaded before the counts were kept.
    pub distinct_department_names: Option<i64>,
    pub distinct_sensor_serials: Option<i64>,
    pub distinct_product_names: Option<i64>,
}

impl PartitionInfo {
    /// Loaded from fewer than all of its minute files.
    pub fn is_partial(&self) -> bool {
        !self.missing_minutes.is_empty()
    }
}

/// A dataset's loaded days: `$1` is the dataset, `$2` its table's schema.
const LIST: &str = "SELECT d.day, d.partition, d.rows, d.files, d.bytes AS source_bytes,
        COALESCE((SELECT sum(pg_total_relation_size(t.relid))::bigint
                  FROM pg_partition_tree(to_regclass(format('%I.%I', $2::text, d.partition))) t
                  WHERE t.isleaf), 0) AS size_bytes,
        d.loaded_at, d.job_id, d.missing_minutes, d.distinct_department_names,
        d.distinct_sensor_serials, d.distinct_product_names
    FROM dwh.day_loads d WHERE d.dataset = $1";

/// Every loaded day of the sample, oldest first.
pub async fn list_partitions(pool: &PgPool) -> Result<Vec<PartitionInfo>, sqlx::Error> {
    list_partitions_of(pool, &Table::sample()).await
}

/// Every loaded day of `table`, oldest first.
pub async fn list_partitions_of(
    pool: &PgPool,
    table: &Table,
) -> Result<Vec<PartitionInfo>, sqlx::Error> {
    sqlx::query_as(&format!("{LIST} ORDER BY d.day"))
        .bind(table.dataset())
        .bind(table.schema())
        .fetch_all(pool)
        .await
}

/// One loaded day of the sample, or `None` when the day was never loaded.
pub async fn get_partition(
    pool: &PgPool,
    day: NaiveDate,
) -> Result<Option<PartitionInfo>, sqlx::Error> {
    get_partition_of(pool, &Table::sample(), day).await
}

/// One loaded day of `table`, or `None` when the day was never loaded.
pub async fn get_partition_of(
    pool: &PgPool,
    table: &Table,
    day: NaiveDate,
) -> Result<Option<PartitionInfo>, sqlx::Error> {
    sqlx::query_as(&format!("{LIST} AND d.day = $3"))
        .bind(table.dataset())
        .bind(table.schema())
        .bind(day)
        .fetch_optional(pool)
        .await
}

/// Counts over one day's rows (what the old pipeline's query job reported).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct DayStats {
    pub day: NaiveDate,
    pub rows: i64,
    pub distinct_department_names: i64,
    pub distinct_sensor_serials: i64,
    pub distinct_product_names: i64,
}

/// The rows and distinct names of a loaded day (from [`get_partition`] or
/// [`list_partitions`]): those its load counted, without touching the day's rows. Only a
/// day loaded before the counts were kept is scanned (a few seconds for 2.7 M rows).
pub async fn day_stats(pool: &PgPool, loaded: &PartitionInfo) -> Result<DayStats, sqlx::Error> {
    if let (Some(departments), Some(sensors), Some(products)) = (
        loaded.distinct_department_names,
        loaded.distinct_sensor_serials,
        loaded.distinct_product_names,
    ) {
        return Ok(DayStats {
            day: loaded.day,
            rows: loaded.rows,
            distinct_department_names: departments,
            distinct_sensor_serials: sensors,
            distinct_product_names: products,
        });
    }
    scan_day_stats(pool, loaded.day).await
}

/// Counts the rows and distinct names of a day by reading them.
pub async fn scan_day_stats(pool: &PgPool, date: NaiveDate) -> Result<DayStats, sqlx::Error> {
    let day = Day::new(date);
    let range = day.range();
    sqlx::query_as(
        "SELECT $3::date AS day, count(*) AS rows,
                count(DISTINCT department_name) AS distinct_department_names,
                count(DISTINCT sensor_serial) AS distinct_sensor_serials,
                count(DISTINCT product_name) AS distinct_product_names
         FROM dwh.data_sample WHERE create_at >= $1 AND create_at < $2",
    )
    .bind(range.start())
    .bind(range.end())
    .bind(day.date())
    .fetch_one(pool)
    .await
}
