//! `load_day` against real PostgreSQL and real Parquet files: exact round trips, the
//! replace semantics, and what is left behind when a load fails or is cancelled.

mod common;

use std::fs::File;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampNanosecondType;
use chrono::{DateTime, NaiveDateTime};
use common::*;
use loader::{LoadError, LoadOptions, load_day};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

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
        (3, 3 * 1914, None)
    );

    let expected = golden_rows(dir.path(), "2023-01-01 ");
    assert_eq!(expected.len(), 5742);
    assert_eq!(loaded_rows(&pool, "2023-01-01").await, expected);
    // The file of 2023-01-02 in the same folder is not part of the day.
    assert_eq!(rows_of_day(&pool, "2023-01-02").await, 0);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn loading_a_day_twice_replaces_it(pool: PgPool) {
    let dir = generated("2023-01-01 00:00", "2023-01-01 00:02");
    load(&pool, dir.path(), "2023-01-01")
        .await
        .expect("first load");
    let checksum = checksum_of_day(&pool, "2023-01-01").await;

    let report = load(&pool, dir.path(), "2023-01-01")
        .await
        .expect("second load");
    assert_eq!(report.replaced_rows, Some(3 * ROWS_PER_FILE));
    assert_eq!(rows_of_day(&pool, "2023-01-01").await, 3 * ROWS_PER_FILE);
    assert_eq!(checksum_of_day(&pool, "2023-01-01").await, checksum);
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());

    let partitions = loader::partitions::list(&pool).await.expect("partitions");
    assert_eq!(partitions.len(), 1);
    assert_eq!(
        (partitions[0].rows, partitions[0].files),
        (3 * ROWS_PER_FILE, 3)
    );
    assert_eq!(partitions[0].partition, "data_sample_p20230101");
    assert!(partitions[0].size_bytes > 0);
}

/// Bounds of the leaves, `FROM` and `TO` only.
fn bounds(leaves: &[(String, String)]) -> Vec<&str> {
    leaves.iter().map(|(_, bound)| bound.as_str()).collect()
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn each_stream_fills_its_own_part_of_the_day(pool: PgPool) {
    let dir = generated("2023-01-01 00:00", "2023-01-01 00:03");
    for round in ["first", "second"] {
        load(&pool, dir.path(), "2023-01-01").await.expect(round);
        let leaves = leaves_of_day(&pool, "2023-01-01").await;
        // Two streams (the default): the day is cut between whole files, by bytes.
        assert_eq!(
            bounds(&leaves),
            [
                "FOR VALUES FROM ('2023-01-01 00:00:00') TO ('2023-01-01 00:02:00')",
                "FOR VALUES FROM ('2023-01-01 00:02:00') TO ('2023-01-02 00:00:00')",
            ],
            "{round} load"
        );
        for (leaf, _) in &leaves {
            let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM dwh.{leaf}"))
                .fetch_one(&pool)
                .await
                .expect("count leaf");
            assert_eq!(rows, 2 * ROWS_PER_FILE, "{leaf}");
        }
        assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
    }
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn files_without_statistics_load_into_one_shared_table(pool: PgPool) {
    let reference = generated("2023-01-01 00:00", "2023-01-01 00:03");
    load(&pool, reference.path(), "2023-01-01")
        .await
        .expect("reference load");
    let expected = checksum_of_day(&pool, "2023-01-01").await;

    let dir = tempfile::tempdir().expect("temp dir");
    for index in 0..4 {
        let path = dir
            .path()
            .join(format!("2023-01-01 00:0{index}:00.parquet"));
        write_parquet_without_statistics(&path, &generator::Dataset::new(0).minute_batch(index));
    }
    let options = LoadOptions {
        streams: 3,
        ..LoadOptions::default()
    };
    let report = load_with(
        &pool,
        dir.path(),
        "2023-01-01",
        &options,
        &CancellationToken::new(),
    )
    .await
    .expect("loads without statistics");
    assert_eq!(report.rows, 4 * ROWS_PER_FILE as u64);
    assert_eq!(
        bounds(&leaves_of_day(&pool, "2023-01-01").await),
        ["FOR VALUES FROM ('2023-01-01 00:00:00') TO ('2023-01-02 00:00:00')"]
    );
    assert_eq!(checksum_of_day(&pool, "2023-01-01").await, expected);
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn replacing_a_day_leaves_other_days_untouched(pool: PgPool) {
    let dir = generated("2023-01-01 00:00", "2023-01-01 00:02");
    add_generated(dir.path(), "2023-01-02 00:00", "2023-01-02 00:01");
    load(&pool, dir.path(), "2023-01-01").await.expect("day 1");
    load(&pool, dir.path(), "2023-01-02").await.expect("day 2");
    let day_two = checksum_of_day(&pool, "2023-01-02").await;

    std::fs::remove_file(path_of(&dir, "2023-01-01 00:02:00.parquet")).expect("remove");
    let report = load(&pool, dir.path(), "2023-01-01")
        .await
        .expect("reload day 1");
    assert_eq!(report.replaced_rows, Some(3 * ROWS_PER_FILE));
    assert_eq!(rows_of_day(&pool, "2023-01-01").await, 2 * ROWS_PER_FILE);
    assert_eq!(rows_of_day(&pool, "2023-01-02").await, 2 * ROWS_PER_FILE);
    assert_eq!(checksum_of_day(&pool, "2023-01-02").await, day_two);
}

/// Loads 3 good minutes, then tries to replace them with 5 minutes whose file at
/// position `k` is made bad by `spoil`; returns the error.
async fn replace_with_bad_file_at(
    pool: &PgPool,
    k: usize,
    spoil: impl FnOnce(&std::path::Path),
) -> LoadError {
    let good = generated("2023-01-01 00:00", "2023-01-01 00:02");
    load(pool, good.path(), "2023-01-01")
        .await
        .expect("good load");
    let before = checksum_of_day(pool, "2023-01-01").await;

    let next = generated("2023-01-01 00:00", "2023-01-01 00:04");
    spoil(&path_of(&next, &format!("2023-01-01 00:0{k}:00.parquet")));
    let error = load(pool, next.path(), "2023-01-01")
        .await
        .expect_err("bad file fails the load");

    assert_eq!(
        rows_of_day(pool, "2023-01-01").await,
        3 * ROWS_PER_FILE,
        "old day intact"
    );
    assert_eq!(
        checksum_of_day(pool, "2023-01-01").await,
        before,
        "old values intact"
    );
    assert_eq!(
        leftover_tables(pool).await,
        Vec::<String>::new(),
        "no staging left"
    );
    error
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_zero_byte_file_fails_before_anything_is_copied(pool: PgPool) {
    let error = replace_with_bad_file_at(&pool, 3, |path| {
        File::create(path).expect("truncate");
    })
    .await;
    let message = error.to_string();
    assert!(
        message.contains("2023-01-01 00:03:00.parquet: not a readable Parquet file"),
        "{message}"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn corrupt_pages_fail_the_load_mid_copy(pool: PgPool) {
    let error = replace_with_bad_file_at(&pool, 4, |path| {
        // Keep the footer intact so the file passes inspection; wreck the data pages.
        let mut bytes = std::fs::read(path).expect("read");
        let footer_start = bytes.len() - 8_000;
        bytes[4..footer_start].iter_mut().for_each(|b| *b = 0xA5);
        std::fs::write(path, bytes).expect("write");
    })
    .await;
    let input = error.input().expect("an input error");
    assert!(
        input.file.ends_with("2023-01-01 00:04:00.parquet"),
        "{error}"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_row_outside_the_day_fails_mid_copy(pool: PgPool) {
    let error = replace_with_bad_file_at(&pool, 2, |path| {
        // A valid file of the next day, under this day's name.
        write_parquet(path, &generator::Dataset::new(0).minute_batch(1440));
    })
    .await;
    let message = error.to_string();
    assert!(
        message.ends_with(
            "2023-01-01 00:02:00.parquet, row 0, column create_at: 2023-01-02 00:00:00 is outside \
             the day being loaded (2023-01-01)"
        ),
        "{message}"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn no_source_files_is_an_error_and_keeps_the_day(pool: PgPool) {
    let dir = generated("2023-01-01 00:00", "2023-01-01 00:00");
    load(&pool, dir.path(), "2023-01-01").await.expect("loads");
    let empty = tempfile::tempdir().expect("dir");
    let error = load(&pool, empty.path(), "2023-01-01")
        .await
        .expect_err("no files");
    assert_eq!(
        error.to_string(),
        format!(
            "no source files for 2023-01-01 in {}/ (expected names like \"2023-01-01 00:00:00.parquet\")",
            empty.path().display()
        )
    );
    assert_eq!(rows_of_day(&pool, "2023-01-01").await, ROWS_PER_FILE);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn cancelling_mid_copy_keeps_the_old_day(pool: PgPool) {
    let dir = generated("2023-01-01 00:00", "2023-01-01 00:01");
    load(&pool, dir.path(), "2023-01-01")
        .await
        .expect("first load");
    add_generated(dir.path(), "2023-01-01 00:02", "2023-01-01 00:09");

    let cancel = CancellationToken::new();
    let progress = ProgressLog::default();
    let on_progress = |p: loader::LoadProgress| {
        progress.record(p);
        if p.files_done >= 1 {
            cancel.cancel();
        }
    };
    let options = LoadOptions {
        streams: 1,
        ..LoadOptions::default()
    };
    let result = load_day(
        &pool,
        dir.path(),
        day("2023-01-01"),
        &options,
        &on_progress,
        &cancel,
    )
    .await;
    assert!(
        matches!(result, Err(LoadError::Cancelled { .. })),
        "{result:?}"
    );
    assert_eq!(rows_of_day(&pool, "2023-01-01").await, 2 * ROWS_PER_FILE);
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
    assert!(progress.0.lock().expect("lock").len() < 10, "stopped early");
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn progress_reaches_the_totals(pool: PgPool) {
    let dir = generated("2023-01-01 00:00", "2023-01-01 00:04");
    let progress = ProgressLog::default();
    let options = LoadOptions {
        streams: 3,
        ..LoadOptions::default()
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
    assert_eq!((last.rows_done, last.rows_total), (5 * 1914, 5 * 1914));
    assert_eq!(last.bytes_done, last.bytes_total);
    assert_eq!(log.len(), 6, "one report before copying, then one per file");
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_second_load_of_the_same_day_is_refused_while_one_runs(pool: PgPool) {
    let dir = generated("2023-01-01 00:00", "2023-01-01 00:00");
    let lock = loader::staging::DayLock::try_acquire(&pool, day("2023-01-01"))
        .await
        .expect("query")
        .expect("lock free");
    let error = load(&pool, dir.path(), "2023-01-01")
        .await
        .expect_err("busy");
    assert_eq!(
        error.to_string(),
        "another load of 2023-01-01 is running; try again when it has finished"
    );
    assert!(error.is_transient());
    // Another day is not affected by the lock.
    add_generated(dir.path(), "2023-01-02 00:00", "2023-01-02 00:00");
    load(&pool, dir.path(), "2023-01-02")
        .await
        .expect("other day loads");
    lock.release().await.expect("release");
    load(&pool, dir.path(), "2023-01-01")
        .await
        .expect("loads once free");
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn garbage_collection_drops_leftovers_of_dead_loads_only(pool: PgPool) {
    for name in [
        "data_sample_stage_20230101_dead",
        "data_sample_stage_20230102_busy",
        "data_sample_retired_20230103_dead",
    ] {
        sqlx::raw_sql(&format!("CREATE TABLE dwh.{name} (LIKE dwh.data_sample)"))
            .execute(&pool)
            .await
            .expect("create leftover");
    }
    // A load of 2023-01-02 is "running" elsewhere: its staging table must survive.
    let busy = loader::staging::DayLock::try_acquire(&pool, day("2023-01-02"))
        .await
        .expect("query")
        .expect("lock free");
    let mut dropped = loader::staging::collect_garbage(&pool).await.expect("gc");
    dropped.sort();
    assert_eq!(
        dropped,
        [
            "data_sample_retired_20230103_dead",
            "data_sample_stage_20230101_dead"
        ]
    );
    assert_eq!(
        leftover_tables(&pool).await,
        ["data_sample_stage_20230102_busy"]
    );
    busy.release().await.expect("release");
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn readers_see_the_old_day_or_the_new_day_never_a_mix(pool: PgPool) {
    let dir = generated("2023-01-01 00:00", "2023-01-01 00:02");
    load(&pool, dir.path(), "2023-01-01")
        .await
        .expect("old day");
    add_generated(dir.path(), "2023-01-01 00:03", "2023-01-01 00:11");

    let done = CancellationToken::new();
    let reader = {
        let (pool, done) = (pool.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while !done.is_cancelled() {
                seen.push(rows_of_day(&pool, "2023-01-01").await);
            }
            seen.push(rows_of_day(&pool, "2023-01-01").await);
            seen
        })
    };
    load(&pool, dir.path(), "2023-01-01")
        .await
        .expect("new day");
    done.cancel();
    let seen = reader.await.expect("reader");
    let (old, new) = (3 * ROWS_PER_FILE, 12 * ROWS_PER_FILE);
    assert!(seen.iter().all(|&n| n == old || n == new), "saw {seen:?}");
    assert_eq!(seen.last(), Some(&new));
    assert!(seen.len() > 2, "the reader ran during the load");
}

/// Holds ACCESS SHARE on the parent and on `date`'s rows, as an analyst's open
/// transaction that read the day would.
async fn reader_of(pool: &PgPool, date: &str) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query(
        "SELECT count(*) FROM dwh.data_sample WHERE create_at >= $1::date AND create_at < $1::date + 1",
    )
    .bind(day(date))
    .execute(&mut *tx)
    .await
    .expect("read");
    tx
}

fn impatient() -> LoadOptions {
    LoadOptions {
        lock_timeout: std::time::Duration::from_millis(200),
        swap_attempts: 1,
        ..LoadOptions::default()
    }
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_reader_of_another_day_never_blocks_the_swap(pool: PgPool) {
    let dir = generated("2023-01-01 23:58", "2023-01-02 00:01");
    load(&pool, dir.path(), "2023-01-01").await.expect("day 1");
    load(&pool, dir.path(), "2023-01-02").await.expect("day 2");
    let reader = reader_of(&pool, "2023-01-02").await;

    // With one attempt of 200 ms, the swap would fail if it waited for the reader.
    let report = load_with(
        &pool,
        dir.path(),
        "2023-01-01",
        &impatient(),
        &CancellationToken::new(),
    )
    .await
    .expect("the swap does not wait for readers of other days");
    assert_eq!(report.swap_attempts, 1);
    reader.rollback().await.expect("end");
    assert_eq!(rows_of_day(&pool, "2023-01-01").await, 2 * ROWS_PER_FILE);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_reader_of_the_day_delays_the_swap_and_the_day_stays_whole(pool: PgPool) {
    let dir = generated("2023-01-01 00:00", "2023-01-01 00:01");
    load(&pool, dir.path(), "2023-01-01")
        .await
        .expect("first load");
    let before = checksum_of_day(&pool, "2023-01-01").await;
    let reader = reader_of(&pool, "2023-01-01").await;

    let error = load_with(
        &pool,
        dir.path(),
        "2023-01-01",
        &impatient(),
        &CancellationToken::new(),
    )
    .await
    .expect_err("the reader holds the day");
    assert!(
        matches!(error, LoadError::SwapLockTimeout { attempts: 1, .. }),
        "{error}"
    );
    reader.rollback().await.expect("end");
    assert_eq!(checksum_of_day(&pool, "2023-01-01").await, before);
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
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
    let dir = generated("2023-01-01 00:00", "2023-01-01 00:01");
    load(&pool, dir.path(), "2023-01-01")
        .await
        .expect("replace");
    assert_eq!(rows_of_day(&pool, "2023-01-01").await, 2 * ROWS_PER_FILE);
    let old: i64 =
        sqlx::query_scalar("SELECT count(*) FROM dwh.data_sample WHERE department_name = 'old'")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(old, 0);
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
}

/// Runs a count of `date` that refuses to wait for any lock: `Err` means it would have
/// been blocked.
async fn count_without_waiting(pool: &PgPool, date: &str) -> Result<i64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL lock_timeout = '10ms'")
        .execute(&mut *tx)
        .await?;
    let count = sqlx::query_scalar(
        "SELECT count(*) FROM dwh.data_sample WHERE create_at >= $1::date AND create_at < $1::date + 1",
    )
    .bind(day(date))
    .fetch_one(&mut *tx)
    .await;
    tx.rollback().await.ok();
    count
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn while_a_swap_waits_only_readers_of_its_day_queue_behind_it(pool: PgPool) {
    let dir = generated("2023-01-01 23:59", "2023-01-02 00:00");
    load(&pool, dir.path(), "2023-01-01").await.expect("day 1");
    load(&pool, dir.path(), "2023-01-02").await.expect("day 2");
    let holder = reader_of(&pool, "2023-01-01").await;

    let patient = LoadOptions {
        lock_timeout: std::time::Duration::from_secs(30),
        swap_attempts: 1,
        ..LoadOptions::default()
    };
    let swap = {
        let (pool, dir) = (pool.clone(), dir.path().to_path_buf());
        tokio::spawn(async move {
            load_with(
                &pool,
                &dir,
                "2023-01-01",
                &patient,
                &CancellationToken::new(),
            )
            .await
        })
    };
    // Wait until the swap is queued for its lock behind the holder (in this test's
    // database: other tests run swaps of their own at the same time).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let waiting: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT FROM pg_stat_activity
                            WHERE datname = current_database()
                              AND wait_event_type = 'Lock' AND query LIKE 'ALTER TABLE%')",
        )
        .fetch_one(&pool)
        .await
        .expect("activity");
        if waiting {
            break;
        }
        assert!(
            !swap.is_finished(),
            "the load ended without waiting for its swap"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "the swap never waited"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }

    assert_eq!(
        count_without_waiting(&pool, "2023-01-02")
            .await
            .expect("another day is not blocked"),
        ROWS_PER_FILE
    );
    let blocked = count_without_waiting(&pool, "2023-01-01").await;
    assert!(
        blocked.is_err(),
        "a reader of the day queues behind the waiting swap"
    );

    holder.rollback().await.expect("end");
    let report = swap
        .await
        .expect("task")
        .expect("the swap goes through once the holder ends");
    assert_eq!(report.swap_attempts, 1);
    assert_eq!(rows_of_day(&pool, "2023-01-01").await, ROWS_PER_FILE);
}
