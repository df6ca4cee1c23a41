//! Readers and the swap: a reader sees the old day or the new day, never a mix; readers of
//! other days neither block a swap nor queue behind one.

use loader::{LoadError, LoadOptions};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn readers_see_the_old_day_or_the_new_day_never_a_mix(pool: PgPool) {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:02");
    load(&pool, dir.path(), "2023-01-01")
        .await
        .expect("old day");
    add_minutes(dir.path(), "2023-01-01 00:03", "2023-01-01 00:11");

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
    let (old, new) = (3 * rows_per_file(), 12 * rows_per_file());
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
        ..options()
    }
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_reader_of_another_day_never_blocks_the_swap(pool: PgPool) {
    let dir = minutes_dir("2023-01-01 23:58", "2023-01-02 00:01");
    load(&pool, dir.path(), "2023-01-01").await.expect("day 1");
    load(&pool, dir.path(), "2023-01-02").await.expect("day 2");
    let reader = reader_of(&pool, "2023-01-02").await;

    // With one attempt of 200 ms, the swap would fail if it waited for the reader.
    let report = load_using(&pool, dir.path(), "2023-01-01", &impatient())
        .await
        .expect("the swap does not wait for readers of other days");
    assert_eq!(report.swap_attempts, 1);
    reader.rollback().await.expect("end");
    assert_eq!(rows_of_day(&pool, "2023-01-01").await, 2 * rows_per_file());
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_reader_of_the_day_delays_the_swap_and_the_day_stays_whole(pool: PgPool) {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:01");
    load(&pool, dir.path(), "2023-01-01")
        .await
        .expect("first load");
    let before = checksum_of_day(&pool, "2023-01-01").await;
    let reader = reader_of(&pool, "2023-01-01").await;

    let error = load_using(&pool, dir.path(), "2023-01-01", &impatient())
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
    let dir = minutes_dir("2023-01-01 23:59", "2023-01-02 00:00");
    load(&pool, dir.path(), "2023-01-01").await.expect("day 1");
    load(&pool, dir.path(), "2023-01-02").await.expect("day 2");
    let holder = reader_of(&pool, "2023-01-01").await;

    let patient = LoadOptions {
        lock_timeout: std::time::Duration::from_secs(30),
        swap_attempts: 1,
        ..options()
    };
    let swap = {
        let (pool, dir) = (pool.clone(), dir.path().to_path_buf());
        tokio::spawn(async move { load_using(&pool, &dir, "2023-01-01", &patient).await })
    };
    // Wait until the swap is queued for its lock behind the holder.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if swap_is_waiting(&pool).await {
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
        rows_per_file()
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
    assert_eq!(rows_of_day(&pool, "2023-01-01").await, rows_per_file());
}
