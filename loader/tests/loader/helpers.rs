//! Fixtures for the loader's tests: real Parquet files from the generator library, bad
//! files made to order, and queries that look at what readers see.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};
use chrono::{NaiveDate, NaiveDateTime};
use generator::{Dataset, GenerateOptions, MinuteRange, generate};
use loader::{LoadError, LoadOptions, LoadProgress, LoadReport, load_day};
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use sqlx::PgPool;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

pub const ROWS_PER_FILE: i64 = 1914;

pub fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

pub fn minute(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("test minute")
}

/// A directory holding the generator's files for the inclusive minute range.
pub fn generated(from: &str, to: &str) -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    add_generated(dir.path(), from, to);
    dir
}

pub fn add_generated(dir: &Path, from: &str, to: &str) {
    let options = GenerateOptions {
        out_dir: dir.to_path_buf(),
        range: MinuteRange::between(minute(from), minute(to)).expect("range"),
        seed: 0,
        jobs: 1,
        force: true,
    };
    generate(&options, &|_| {}, &AtomicBool::new(false)).expect("generator writes fixtures");
}

/// The golden reference files, copied into a fresh directory.
pub fn golden_dir() -> TempDir {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../generator/tests/golden");
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(&golden).expect("golden dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "parquet") {
            std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
        }
    }
    dir
}

/// Minute `index`'s reference batch with `edit` applied to its columns.
pub fn edited_minute(
    index: u32,
    edit: impl FnOnce(&mut Vec<Field>, &mut Vec<ArrayRef>),
) -> RecordBatch {
    let batch = Dataset::new(0).minute_batch(index);
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns = batch.columns().to_vec();
    edit(&mut fields, &mut columns);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .expect("edited batch is consistent")
}

pub fn write_parquet(path: &Path, batch: &RecordBatch) {
    write_parquet_with(path, batch, ArrowWriterOptions::new());
}

/// Writes `batch` with no statistics at all in the footer (as some writers do).
pub fn write_parquet_without_statistics(path: &Path, batch: &RecordBatch) {
    let properties = parquet::file::properties::WriterProperties::builder()
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::None)
        .build();
    write_parquet_with(
        path,
        batch,
        ArrowWriterOptions::new().with_properties(properties),
    );
}

pub fn write_parquet_with(path: &Path, batch: &RecordBatch, options: ArrowWriterOptions) {
    let file = std::fs::File::create(path).expect("create");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new_with_options(file, batch.schema(), options)
            .expect("writer");
    writer.write(batch).expect("write");
    writer.close().expect("close");
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

pub fn path_of(dir: &TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// Loads `date` from `dir` with default options, no progress and no cancellation.
pub async fn load(pool: &PgPool, dir: &Path, date: &str) -> Result<LoadReport, LoadError> {
    load_with(
        pool,
        dir,
        date,
        &LoadOptions::default(),
        &CancellationToken::new(),
    )
    .await
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

/// Rows readers see for `date` through the partitioned table.
pub async fn rows_of_day(pool: &PgPool, date: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM dwh.data_sample WHERE create_at >= $1::date AND create_at < $1::date + 1",
    )
    .bind(day(date))
    .fetch_one(pool)
    .await
    .expect("count")
}

/// An order-independent fingerprint of the day's values.
pub async fn checksum_of_day(pool: &PgPool, date: &str) -> String {
    sqlx::query_scalar(
        "SELECT md5(string_agg(md5(t::text), '' ORDER BY md5(t::text)))
         FROM dwh.data_sample t WHERE create_at >= $1::date AND create_at < $1::date + 1",
    )
    .bind(day(date))
    .fetch_one(pool)
    .await
    .expect("checksum")
}

/// Tables in schema dwh other than the parent and its partitions: leftovers of loads.
pub async fn leftover_tables(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'dwh' AND c.relkind = 'r' AND NOT c.relispartition
           AND c.relname <> 'day_loads' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("list tables")
}
