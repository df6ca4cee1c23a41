//! A day's distinct names are counted by its load, so reading them needs no scan; they
//! are exactly what a scan of the day counts.

use loader::{LoadOptions, Streams, day_stats, get_partition, scan_day_stats};
use sqlx::PgPool;

use crate::helpers::*;

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn the_counts_a_load_keeps_are_those_a_scan_finds(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:59");
    for streams in [1, 3] {
        let options = LoadOptions {
            streams: Streams::new(streams).expect("valid"),
            ..options()
        };
        load_using(&pool, data.path(), "2023-01-01", &options)
            .await
            .expect("loads");
        let loaded = get_partition(&pool, day("2023-01-01"))
            .await
            .expect("read")
            .expect("loaded");
        assert!(loaded.distinct_sensor_serials.is_some(), "kept by the load");
        let kept = day_stats(&pool, &loaded).await.expect("kept counts");
        let scanned = scan_day_stats(&pool, day("2023-01-01"))
            .await
            .expect("scan");
        assert_eq!(kept, scanned, "{streams} streams");
        assert_eq!(kept.rows, 60 * rows_per_file());
        assert!(kept.distinct_sensor_serials > 1 && kept.distinct_department_names > 1);
    }
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_day_loaded_before_the_counts_were_kept_is_scanned(pool: PgPool) {
    let data = minutes_dir("2023-01-02 00:00", "2023-01-02 00:04");
    load(&pool, data.path(), "2023-01-02").await.expect("loads");
    sqlx::query(
        "UPDATE dwh.day_loads SET distinct_department_names = NULL,
             distinct_sensor_serials = NULL, distinct_product_names = NULL",
    )
    .execute(&pool)
    .await
    .expect("forget the counts");
    let loaded = get_partition(&pool, day("2023-01-02"))
        .await
        .expect("read")
        .expect("loaded");
    let stats = day_stats(&pool, &loaded).await.expect("scanned");
    assert_eq!(
        stats,
        scan_day_stats(&pool, day("2023-01-02"))
            .await
            .expect("scan")
    );
    assert_eq!(stats.rows, 5 * rows_per_file());
}
