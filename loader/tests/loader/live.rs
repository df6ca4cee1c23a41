//! `append_minute`: one minute file appended to a day not yet loaded, in the caller's
//! transaction; refused while a load holds the day and once the day is loaded; and
//! replaced, not added to, by the day's load.

use loader::{LoadError, append_minute};
use sqlx::{Connection, PgPool};

use crate::helpers::*;

const DAY: &str = "2023-01-01";

async fn append(pool: &PgPool, dir: &std::path::Path, name: &str) -> Result<u64, LoadError> {
    let mut tx = pool.begin().await.expect("begin");
    let appended = append_minute(&mut tx, &dir.join(name), day(DAY)).await?;
    tx.commit().await.expect("commit");
    Ok(appended.rows)
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn appended_minutes_are_queryable_and_the_load_replaces_them(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:02");
    for name in ["2023-01-01 00:00:00.parquet", "2023-01-01 00:01:00.parquet"] {
        let rows = append(&pool, data.path(), name).await.expect("appends");
        assert_eq!(i64::try_from(rows).expect("small"), rows_per_file());
    }
    assert_eq!(rows_of_day(&pool, DAY).await, 2 * rows_per_file());

    // A transaction that rolls back leaves nothing.
    let mut tx = pool.begin().await.expect("begin");
    let third = data.path().join("2023-01-01 00:02:00.parquet");
    append_minute(&mut tx, &third, day(DAY))
        .await
        .expect("appends");
    tx.rollback().await.expect("rollback");
    assert_eq!(rows_of_day(&pool, DAY).await, 2 * rows_per_file());

    load(&pool, data.path(), DAY).await.expect("loads");
    assert_eq!(rows_of_day(&pool, DAY).await, 3 * rows_per_file());
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());

    let refused = append(&pool, data.path(), "2023-01-01 00:00:00.parquet").await;
    assert!(
        matches!(refused, Err(LoadError::DayLoaded { .. })),
        "{refused:?}"
    );
    assert_eq!(rows_of_day(&pool, DAY).await, 3 * rows_per_file());
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn an_append_waits_for_no_load_and_a_bad_file_is_named(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let mut holder = pool.acquire().await.expect("conn");
    let mut held = holder.begin().await.expect("begin");
    let mut tx = pool.begin().await.expect("begin");
    let name = data.path().join("2023-01-01 00:00:00.parquet");
    // The first transaction takes the day; the second finds it busy.
    append_minute(&mut held, &name, day(DAY))
        .await
        .expect("appends");
    let busy = append_minute(&mut tx, &name, day(DAY)).await;
    assert!(matches!(busy, Err(LoadError::DayBusy { .. })), "{busy:?}");
    drop(tx);
    held.rollback().await.expect("rollback");

    let bad = data.path().join("2023-01-01 00:01:00.parquet");
    std::fs::write(&bad, b"not parquet").expect("write");
    let refused = append(&pool, data.path(), "2023-01-01 00:01:00.parquet").await;
    let error = refused.expect_err("a bad file is refused").to_string();
    assert!(error.contains("2023-01-01 00:01:00.parquet"), "{error}");
    assert_eq!(rows_of_day(&pool, DAY).await, 0);
}
