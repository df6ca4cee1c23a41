//! Days, minutes and the Parquet files of the dataset, as the generator makes them.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, LazyLock};

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};
use chrono::{NaiveDate, NaiveDateTime};
use generator::{Dataset, GenerateOptions, MinuteRange, generate};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use tempfile::TempDir;

/// The reference dataset (seed 0), drawn once per test binary.
static DATASET: LazyLock<Dataset> = LazyLock::new(|| Dataset::new(0));

pub fn dataset() -> &'static Dataset {
    &DATASET
}

/// Rows in every minute file of the dataset.
pub fn rows_per_file() -> i64 {
    i64::try_from(DATASET.rows_per_minute()).expect("a small number")
}

/// Rows in every minute file of the dataset drawn with `seed`.
pub fn rows_per_file_of_seed(seed: u64) -> i64 {
    i64::try_from(Dataset::new(seed).rows_per_minute()).expect("a small number")
}

/// `YYYY-MM-DD`.
pub fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

/// `YYYY-MM-DD HH:MM`.
pub fn minute(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("test minute")
}

/// A directory holding the generator's files for the inclusive minute range.
pub fn minutes_dir(from: &str, to: &str) -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    add_minutes(dir.path(), from, to);
    dir
}

/// Writes the generator's files for the inclusive minute range into `dir`.
pub fn add_minutes(dir: &Path, from: &str, to: &str) {
    add_seeded_minutes(dir, from, to, 0);
}

/// [`add_minutes`] of another dataset: `seed` draws other names, another number of rows
/// per minute (for seed 1, [`rows_per_file_of_seed`]) and other values (`generator --seed`).
pub fn add_seeded_minutes(dir: &Path, from: &str, to: &str, seed: u64) {
    let options = GenerateOptions {
        out: generator::Output::Dir(dir.to_path_buf()),
        range: MinuteRange::between(minute(from), minute(to)).expect("range"),
        seed,
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

/// Minute `index`'s reference batch (minute 0 is 2023-01-01 00:00).
pub fn minute_batch(index: u32) -> RecordBatch {
    DATASET.minute_batch(index)
}

/// Minute `index`'s reference batch with `edit` applied to its fields and columns.
pub fn edited_minute(
    index: u32,
    edit: impl FnOnce(&mut Vec<Field>, &mut Vec<ArrayRef>),
) -> RecordBatch {
    let batch = minute_batch(index);
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
    let properties = WriterProperties::builder()
        .set_statistics_enabled(EnabledStatistics::None)
        .build();
    write_parquet_with(
        path,
        batch,
        ArrowWriterOptions::new().with_properties(properties),
    );
}

pub fn write_parquet_with(path: &Path, batch: &RecordBatch, options: ArrowWriterOptions) {
    let file = std::fs::File::create(path).expect("create");
    write_to(file, batch, options);
}

/// `batch` as the bytes of a Parquet file.
pub fn parquet_bytes(batch: &RecordBatch) -> Vec<u8> {
    let mut bytes = Vec::new();
    write_to(&mut bytes, batch, ArrowWriterOptions::new());
    bytes
}

fn write_to(sink: impl std::io::Write + Send, batch: &RecordBatch, options: ArrowWriterOptions) {
    let mut writer =
        ArrowWriter::try_new_with_options(sink, batch.schema(), options).expect("writer");
    writer.write(batch).expect("write");
    writer.close().expect("close");
}
