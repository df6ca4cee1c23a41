//! The gate in front of the swap: a day is replaced only from exactly its minute files,
//! all of them unless a partial day is allowed, and never shrunk by surprise. Every
//! refusal leaves the old day as it was.

use std::time::Duration;

use loader::{LoadError, LoadOptions};
use sqlx::PgPool;

use crate::helpers::*;

const DAY: &str = "2023-01-01";

async fn load_strict(
    pool: &PgPool,
    dir: &std::path::Path,
) -> Result<loader::LoadReport, LoadError> {
    load_using(pool, dir, DAY, &LoadOptions::default()).await
}

/// Loads three minutes of the day (allowed as partial); returns the day's checksum.
async fn three_minutes_loaded(pool: &PgPool) -> String {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:02");
    load(pool, dir.path(), DAY).await.expect("partial load");
    checksum_of_day(pool, DAY).await
}

async fn assert_untouched(pool: &PgPool, before: &str) {
    assert_eq!(checksum_of_day(pool, DAY).await, before, "old day intact");
    assert_eq!(
        leftover_tables(pool).await,
        Vec::<String>::new(),
        "no staging left"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_whole_day_loads_by_default_and_is_not_partial(pool: PgPool) {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 23:59");
    let report = load_strict(&pool, dir.path()).await.expect("a whole day");
    assert_eq!(report.files, 1440);
    assert!(report.missing_minutes.is_empty());
    let day = loader::get_partition(&pool, day(DAY))
        .await
        .expect("query")
        .expect("loaded");
    assert!(!day.is_partial());
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn an_incomplete_day_is_refused_and_the_old_day_kept(pool: PgPool) {
    let before = three_minutes_loaded(&pool).await;
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:09");
    let error = load_strict(&pool, dir.path())
        .await
        .expect_err("incomplete");
    assert_eq!(
        error.to_string(),
        "2023-01-01 is incomplete: 1430 of its 1,440 minutes have no file (00:10, 00:11, \
         00:12, 00:13, 00:14 … and 1425 more); load it with allow_partial=true \
         (--allow-partial) to replace the day with the minutes there are"
    );
    assert!(!error.is_transient());
    assert_untouched(&pool, &before).await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_partial_day_is_recorded_with_the_minutes_it_lacks(pool: PgPool) {
    three_minutes_loaded(&pool).await;
    let day = loader::get_partition(&pool, day(DAY))
        .await
        .expect("query")
        .expect("loaded");
    assert!(day.is_partial());
    assert_eq!(day.missing_minutes.len(), 1437);
    assert_eq!(day.missing_minutes[0].to_string(), "00:03:00");
    assert_eq!(day.missing_minutes[1436].to_string(), "23:59:00");
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_second_copy_of_a_minute_makes_the_day_ambiguous(pool: PgPool) {
    let before = three_minutes_loaded(&pool).await;
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:02");
    std::fs::copy(
        path_of(&dir, "2023-01-01 00:01:00.parquet"),
        path_of(&dir, "2023-01-01 00:01:00 (1).parquet"),
    )
    .expect("copy");
    // Even a caller who allows a partial day cannot load an ambiguous one.
    let error = load(&pool, dir.path(), DAY).await.expect_err("ambiguous");
    assert_eq!(
        error.to_string(),
        "2023-01-01 is ambiguous: these files are named after the day but are not its \
         minute files: \"2023-01-01 00:01:00 (1).parquet\"; move them out of the data \
         directory"
    );
    assert_untouched(&pool, &before).await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_fifo_named_like_a_minute_is_refused_without_blocking(pool: PgPool) {
    let before = three_minutes_loaded(&pool).await;
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:02");
    let fifo = path_of(&dir, "2023-01-01 00:03:00.parquet");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let error = tokio::time::timeout(Duration::from_secs(10), load(&pool, dir.path(), DAY))
        .await
        .expect("the load does not block on the FIFO")
        .expect_err("a FIFO is not a file");
    assert!(
        error.to_string().ends_with(
            "2023-01-01 00:03:00.parquet: is a FIFO, not a regular file; it is not read"
        ),
        "{error}"
    );
    assert_untouched(&pool, &before).await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_replace_that_shrinks_the_day_is_refused_unless_forced(pool: PgPool) {
    let before = three_minutes_loaded(&pool).await;
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let error = load(&pool, dir.path(), DAY).await.expect_err("shrinks");
    assert_eq!(
        error.to_string(),
        "the load would shrink 2023-01-01 from 5,742 to 1,914 rows (below 90 % of what it \
         holds); the day is unchanged. Replace it anyway with force=true (--force)"
    );
    assert_untouched(&pool, &before).await;

    let forced = LoadOptions {
        force: true,
        ..options()
    };
    let report = load_using(&pool, dir.path(), DAY, &forced)
        .await
        .expect("forced");
    assert_eq!(report.replaced_rows, Some(3 * rows_per_file()));
    assert_eq!(rows_of_day(&pool, DAY).await, rows_per_file());

    // A third of the day is above a 30 % guard.
    three_minutes_loaded(&pool).await;
    let lower_guard = LoadOptions {
        shrink_guard_percent: 30,
        ..options()
    };
    load_using(&pool, dir.path(), DAY, &lower_guard)
        .await
        .expect("above the guard");
    assert_eq!(rows_of_day(&pool, DAY).await, rows_per_file());
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_file_that_changes_between_its_check_and_its_copy_fails_the_load(pool: PgPool) {
    let before = three_minutes_loaded(&pool).await;
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:03");
    let target = path_of(&dir, "2023-01-01 00:01:00.parquet");
    let other = path_of(&dir, "2023-01-01 00:03:00.parquet");
    // The first progress report comes after every footer was checked and before any row
    // is copied: the moment a copy still writing the file would change it.
    let changed = std::sync::atomic::AtomicBool::new(false);
    let progress = |_: loader::LoadProgress| {
        if !changed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::fs::copy(&other, &target).expect("overwrite");
        }
    };
    let error = loader::load_day(
        &pool,
        dir.path(),
        day(DAY),
        &options(),
        &progress,
        &tokio_util::sync::CancellationToken::new(),
    )
    .await
    .expect_err("changed");
    assert!(
        error.to_string().ends_with(
            "2023-01-01 00:01:00.parquet: changed during the load: its size, modification \
             time or footer differ from when it was checked; nothing of it was copied"
        ),
        "{error}"
    );
    assert_untouched(&pool, &before).await;
}
