//! A loaded day is ready to query: its rows arrive frozen and all-visible (the first scan
//! writes no hint bits, VACUUM has nothing to freeze) and its leaves have statistics.

use loader::LoadOptions;
use sqlx::PgPool;

use crate::helpers::*;

/// The pages of `dwh.<leaf>` that hold rows, and how many of them the visibility map has
/// all-visible and all-frozen. (Pages without rows are left out: from PostgreSQL 16 on,
/// COPY extends a table several empty pages at a time, and the unused ones at its end are
/// not marked; they hold nothing a reader could set a hint bit on.)
async fn visibility(pool: &PgPool, leaf: &str) -> (i64, i64, i64) {
    let table = format!("dwh.\"{}\"", leaf.replace('"', "\"\""));
    sqlx::query_as(&format!(
        "WITH used AS (SELECT DISTINCT (ctid::text::point)[0]::bigint AS blkno FROM {table})
         SELECT count(*), count(*) FILTER (WHERE v.all_visible),
                count(*) FILTER (WHERE v.all_frozen)
         FROM used JOIN pg_visibility_map($1::regclass) v USING (blkno)"
    ))
    .bind(&table)
    .fetch_one(pool)
    .await
    .expect("visibility map")
}

async fn columns_with_statistics(pool: &PgPool, leaf: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM pg_stats WHERE schemaname = 'dwh' AND tablename = $1")
        .bind(leaf)
        .fetch_one(pool)
        .await
        .expect("pg_stats")
}

/// The `Buffers:` lines of a plain, single-process scan of the day.
async fn first_scan_buffers(pool: &PgPool, date: &str) -> Vec<String> {
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query("SET LOCAL max_parallel_workers_per_gather = 0")
        .execute(&mut *tx)
        .await
        .expect("serial scan");
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT count(*) FROM dwh.data_sample
         WHERE create_at >= $1::date AND create_at < $1::date + 1",
    )
    .bind(day(date))
    .fetch_all(&mut *tx)
    .await
    .expect("explain");
    tx.rollback().await.expect("end");
    // The plan's nodes only: the "Planning:" section after them counts the catalog pages
    // the planner read, whose hint bits (the new leaves' own catalog rows) it may set.
    plan.into_iter()
        .take_while(|l| !l.starts_with("Planning"))
        .filter(|l| l.contains("Buffers:"))
        .collect()
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_loaded_day_is_frozen_all_visible_and_analyzed(pool: PgPool) {
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_visibility")
        .execute(&pool)
        .await
        .expect("pg_visibility (PostgreSQL's contrib)");
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:59");
    let options = LoadOptions {
        analyze: true,
        ..options()
    };
    let report = load_using(&pool, dir.path(), "2023-01-01", &options)
        .await
        .expect("loads");
    assert_eq!(report.rows, 60 * rows_per_file() as u64);

    let leaves = leaves_of_day(&pool, "2023-01-01").await;
    assert_eq!(leaves.len(), 2, "one leaf per stream: {leaves:?}");
    for (leaf, _) in &leaves {
        let (pages, all_visible, all_frozen) = visibility(&pool, leaf).await;
        assert!(pages > 100, "{leaf}: {pages} pages");
        assert_eq!((all_visible, all_frozen), (pages, pages), "{leaf}");
        assert_eq!(columns_with_statistics(&pool, leaf).await, 5, "{leaf}");
    }
    let buffers = first_scan_buffers(&pool, "2023-01-01").await;
    assert!(!buffers.is_empty(), "EXPLAIN reports buffers");
    assert!(
        buffers.iter().all(|l| !l.contains("dirtied")),
        "the first scan wrote hint bits: {buffers:?}"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn without_analyze_the_leaves_have_no_statistics_yet(pool: PgPool) {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:03");
    let options = LoadOptions {
        analyze: false,
        ..options()
    };
    load_using(&pool, dir.path(), "2023-01-01", &options)
        .await
        .expect("loads");
    for (leaf, _) in leaves_of_day(&pool, "2023-01-01").await {
        assert_eq!(columns_with_statistics(&pool, &leaf).await, 0, "{leaf}");
    }
}
