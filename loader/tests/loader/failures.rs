//! What a failed, cancelled or refused load leaves behind: the old day, and no staging
//! table; and what collecting leftovers drops.

use std::fs::File;

use loader::{LoadError, LoadOptions, Streams, load_day};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

/// Loads 3 good minutes, then tries to replace them with 5 minutes whose file at
/// position `k` is made bad by `spoil`; returns the error.
async fn replace_with_bad_file_at(
    pool: &PgPool,
    k: usize,
    spoil: impl FnOnce(&std::path::Path),
) -> LoadError {
    let good = minutes_dir("2023-01-01 00:00", "2023-01-01 00:02");
    load(pool, good.path(), "2023-01-01")
        .await
        .expect("good load");
    let before = checksum_of_day(pool, "2023-01-01").await;

    let next = minutes_dir("2023-01-01 00:00", "2023-01-01 00:04");
    spoil(&path_of(&next, &format!("2023-01-01 00:0{k}:00.parquet")));
    let error = load(pool, next.path(), "2023-01-01")
        .await
        .expect_err("bad file fails the load");

    assert_eq!(
        rows_of_day(pool, "2023-01-01").await,
        3 * rows_per_file(),
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
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    load(&pool, dir.path(), "2023-01-01").await.expect("loads");
    let empty = tempfile::tempdir().expect("dir");
    let error = load(&pool, empty.path(), "2023-01-01")
        .await
        .expect_err("no files");
    assert_eq!(
        error.to_string(),
        format!(
            "no source files for 2023-01-01 in {} (expected names like \"2023-01-01 00:00:00.parquet\")",
            empty.path().display()
        )
    );
    assert_eq!(rows_of_day(&pool, "2023-01-01").await, rows_per_file());
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn cancelling_mid_copy_keeps_the_old_day(pool: PgPool) {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:01");
    load(&pool, dir.path(), "2023-01-01")
        .await
        .expect("first load");
    add_minutes(dir.path(), "2023-01-01 00:02", "2023-01-01 00:09");

    let cancel = CancellationToken::new();
    let progress = ProgressLog::default();
    let on_progress = |p: loader::LoadProgress| {
        progress.record(p);
        if p.files_done >= 1 {
            cancel.cancel();
        }
    };
    let options = LoadOptions {
        streams: Streams::new(1).expect("valid"),
        ..options()
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
    assert_eq!(rows_of_day(&pool, "2023-01-01").await, 2 * rows_per_file());
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
    assert!(progress.0.lock().expect("lock").len() < 10, "stopped early");
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_second_load_of_the_same_day_is_refused_while_one_runs(pool: PgPool) {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let running = HeldLoad::start(&pool, dir.path(), "2023-01-01").await;
    let error = load(&pool, dir.path(), "2023-01-01")
        .await
        .expect_err("busy");
    assert_eq!(
        error.to_string(),
        "another load of 2023-01-01 is running; try again when it has finished"
    );
    assert!(error.is_transient());
    let report = running.finish().await.expect("the first load succeeds");
    assert_eq!(report.rows, rows_per_file() as u64);
    load(&pool, dir.path(), "2023-01-01")
        .await
        .expect("loads once free");
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn garbage_collection_drops_leftovers_of_dead_loads_only(pool: PgPool) {
    // Where staging tables are now, and where loads of older versions left them.
    for name in [
        "dwh.data_sample_stage_20230101_dead",
        "dwh.data_sample_retired_20230103_dead",
        "dwh_staging.data_sample_stage_20230104_dead",
    ] {
        sqlx::raw_sql(&format!("CREATE TABLE {name} (LIKE dwh.data_sample)"))
            .execute(&pool)
            .await
            .expect("create leftover");
    }
    // A load of 2023-01-02 is running: its staging tables must survive.
    let dir = minutes_dir("2023-01-02 00:00", "2023-01-02 00:01");
    let running = HeldLoad::start(&pool, dir.path(), "2023-01-02").await;
    let staged = leftover_tables(&pool).await;

    let mut dropped = loader::collect_garbage(&pool).await.expect("gc");
    dropped.sort();
    assert_eq!(
        dropped,
        [
            "data_sample_retired_20230103_dead",
            "data_sample_stage_20230101_dead",
            "data_sample_stage_20230104_dead"
        ]
    );
    let left = leftover_tables(&pool).await;
    assert!(
        !left.is_empty()
            && left
                .iter()
                .all(|t| t.starts_with("data_sample_stage_20230102_")),
        "only the running load's tables are left: {left:?} (of {staged:?})"
    );
    running
        .finish()
        .await
        .expect("the running load still succeeds");
    assert_eq!(rows_of_day(&pool, "2023-01-02").await, 2 * rows_per_file());
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_hostile_table_name_cannot_make_garbage_collection_run_anything_else(pool: PgPool) {
    // Unquoted, this name would be DROP TABLE …_x; then DROP TABLE dwh.day_loads.
    let hostile = "data_sample_stage_20230101_x;drop table dwh.day_loads;--";
    sqlx::raw_sql(&format!(
        "CREATE TABLE dwh.\"{hostile}\" (LIKE dwh.data_sample)"
    ))
    .execute(&pool)
    .await
    .expect("create");
    let dropped = loader::collect_garbage(&pool).await.expect("gc");
    assert_eq!(dropped, [hostile]);
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
    let day_loads: bool = sqlx::query_scalar("SELECT to_regclass('dwh.day_loads') IS NOT NULL")
        .fetch_one(&pool)
        .await
        .expect("query");
    assert!(day_loads, "dwh.day_loads is still there");
}
