//! `load_day` against real PostgreSQL and real Parquet files: exact round trips and the
//! replace semantics.

use std::fs::File;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampNanosecondType;
use chrono::{DateTime, NaiveDateTime};
use loader::{LoadOptions, Streams, load_day};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

type Row = (String, String, NaiveDateTime, String, NaiveDateTime);

fn golden_rows(dir: &std::path::Path, prefix: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .collect();
    paths.sort();
    for path in paths {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).expect("open"))
            .and_then(|b| b.build())
            .expect("golden file reads");
        for batch in reader {
            let batch = batch.expect("decodes");
            let text = |i: usize| batch.column(i).as_string::<i32>().clone();
            let time = |i: usize| {
                batch
                    .column(i)
                    .as_primitive::<TimestampNanosecondType>()
                    .clone()
            };
            let (dept, serial, created, product, expire) =
                (text(0), text(1), time(2), text(3), time(4));
            let at = |ns: i64| DateTime::from_timestamp_nanos(ns).naive_utc();
            for r in 0..batch.num_rows() {
                rows.push((
                    dept.value(r).to_owned(),
                    serial.value(r).to_owned(),
                    at(created.value(r)),
                    product.value(r).to_owned(),
                    at(expire.value(r)),
                ));
            }
        }
    }
    rows.sort();
    rows
}

async fn loaded_rows(pool: &PgPool, date: &str) -> Vec<Row> {
    sqlx::query_as(
        "SELECT department_name, sensor_serial, create_at, product_name, product_expire
         FROM dwh.data_sample WHERE create_at >= $1::date AND create_at < $1::date + 1
         ORDER BY 1, 2, 3, 4, 5",
    )
    .bind(day(date))
    .fetch_all(pool)
    .await
    .expect("read back")
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn every_golden_value_reads_back_equal(pool: PgPool) {
    let dir = golden_dir();
    let report = load(&pool, dir.path(), "2023-01-01").await.expect("loads");
    assert_eq!(
        (report.files, report.rows, report.replaced_rows),
        (3, 3 * rows_per_file() as u64, None)
    );

    let expected = golden_rows(dir.path(), "2023-01-01 ");
    assert_eq!(expected.len(), 3 * rows_per_file() as usize);
    assert_eq!(loaded_rows(&pool, "2023-01-01").await, expected);
    // The file of 2023-01-02 in the same folder is not part of the day.
    assert_eq!(rows_of_day(&pool, "2023-01-02").await, 0);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn loading_a_day_twice_replaces_it(pool: PgPool) {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:02");
    load(&pool, dir.path(), "2023-01-01")
        .await
        .expect("first load");
    let checksum = checksum_of_day(&pool, "2023-01-01").await;

    let report = load(&pool, dir.path(), "2023-01-01")
        .await
        .expect("second load");
    assert_eq!(report.replaced_rows, Some(3 * rows_per_file()));
    assert_eq!(rows_of_day(&pool, "2023-01-01").await, 3 * rows_per_file());
    assert_eq!(checksum_of_day(&pool, "2023-01-01").await, checksum);
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());

    let partitions = loader::list_partitions(&pool).await.expect("partitions");
    assert_eq!(partitions.len(), 1);
    assert_eq!(
        (partitions[0].rows, partitions[0].files),
        (3 * rows_per_file(), 3)
    );
    assert_eq!(partitions[0].partition, "data_sample_p20230101");
    assert!(partitions[0].size_bytes > 0);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn replacing_a_day_leaves_other_days_untouched(pool: PgPool) {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:02");
    add_minutes(dir.path(), "2023-01-02 00:00", "2023-01-02 00:01");
    load(&pool, dir.path(), "2023-01-01").await.expect("day 1");
    load(&pool, dir.path(), "2023-01-02").await.expect("day 2");
    let day_two = checksum_of_day(&pool, "2023-01-02").await;

    std::fs::remove_file(path_of(&dir, "2023-01-01 00:02:00.parquet")).expect("remove");
    let shrink = LoadOptions {
        force: true, // 2 minutes replace 3: below the shrink guard
        ..options()
    };
    let report = load_using(&pool, dir.path(), "2023-01-01", &shrink)
        .await
        .expect("reload day 1");
    assert_eq!(report.replaced_rows, Some(3 * rows_per_file()));
    assert_eq!(rows_of_day(&pool, "2023-01-01").await, 2 * rows_per_file());
    assert_eq!(rows_of_day(&pool, "2023-01-02").await, 2 * rows_per_file());
    assert_eq!(checksum_of_day(&pool, "2023-01-02").await, day_two);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_day_stored_as_a_plain_partition_is_replaced_too(pool: PgPool) {
    // The layout of earlier versions: the day's rows directly in a partition of the parent.
    sqlx::raw_sql(
        "CREATE TABLE dwh.data_sample_p20230101 PARTITION OF dwh.data_sample
             FOR VALUES FROM ('2023-01-01') TO ('2023-01-02');
         INSERT INTO dwh.data_sample VALUES ('old', 'old', '2023-01-01 10:00', 'old', NULL);",
    )
    .execute(&pool)
    .await
    .expect("old layout");
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:01");
    load(&pool, dir.path(), "2023-01-01")
        .await
        .expect("replace");
    assert_eq!(rows_of_day(&pool, "2023-01-01").await, 2 * rows_per_file());
    let old: i64 =
        sqlx::query_scalar("SELECT count(*) FROM dwh.data_sample WHERE department_name = 'old'")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(old, 0);
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn progress_reaches_the_totals(pool: PgPool) {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:04");
    let progress = ProgressLog::default();
    let options = LoadOptions {
        streams: Streams::new(3).expect("valid"),
        ..options()
    };
    load_day(
        &pool,
        dir.path(),
        day("2023-01-01"),
        &options,
        &|p| progress.record(p),
        &CancellationToken::new(),
    )
    .await
    .expect("loads");
    let log = progress.0.lock().expect("lock");
    let last = *log.iter().max_by_key(|p| p.files_done).expect("reports");
    assert_eq!((last.files_done, last.files_total), (5, 5));
    assert_eq!(
        (last.rows_done, last.rows_total),
        (5 * rows_per_file() as u64, 5 * rows_per_file() as u64)
    );
    assert_eq!(last.bytes_done, last.bytes_total);
    assert_eq!(log.len(), 6, "one report before copying, then one per file");
}
