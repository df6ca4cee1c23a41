//! Declared datasets: any schema, any of the layouts, each day as atomic as the sample's.

mod audits;
mod cli;
mod drift;
mod example;
mod indexes;
mod json;
mod layouts;
mod wide;

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};
use chrono::NaiveDate;
use loader::{DataSource, Dataset, Datasets, LoadError, LoadOptions, LoadReport, load_dataset_day};
use sqlx::PgPool;
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// The datasets a test's TOML declares (relative sources under `base`).
pub fn datasets(toml: &str, base: &Path) -> Datasets {
    Datasets::parse(toml, base, "unused").expect("valid datasets")
}

/// Loads `date` of `dataset` from its own directory.
pub async fn load(pool: &PgPool, dataset: &Dataset, date: &str) -> Result<LoadReport, LoadError> {
    load_with(pool, dataset, date, &LoadOptions::default()).await
}

/// [`load`] with `options`.
pub async fn load_with(
    pool: &PgPool,
    dataset: &Dataset,
    date: &str,
    options: &LoadOptions,
) -> Result<LoadReport, LoadError> {
    let source = DataSource::Dir(dataset.source.clone().into());
    let date: NaiveDate = date.parse().expect("date");
    load_dataset_day(
        pool,
        dataset,
        &source,
        date,
        options,
        &|_| {},
        &CancellationToken::new(),
    )
    .await
}

/// Writes `batch` as a Parquet file at `path`, creating its folders.
pub fn write(path: &Path, batch: &RecordBatch) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("folders");
    testkit::write_parquet(path, batch);
}

/// A batch of `columns`, each nullable.
pub fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
        .collect();
    let arrays = columns.into_iter().map(|c| c.1).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("batch")
}

/// One column's values as PostgreSQL prints them (`NULL` for null), ordered by `id`.
pub async fn texts(pool: &PgPool, table: &str, column: &str) -> Vec<String> {
    let sql = format!("SELECT coalesce(\"{column}\"::text, 'NULL') FROM {table} ORDER BY id");
    sqlx::query_scalar(&sql)
        .fetch_all(pool)
        .await
        .expect("column")
}

/// The columns of `table` as the catalog spells them: `name type [not null]`.
pub async fn catalog(pool: &PgPool, table: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
         FROM pg_attribute a
         WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY a.attnum",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .expect("catalog")
}
