//! The plan at work: each stream fills its own part of the day (one leaf each), or all of
//! them share one table when the files cannot be cut.

use loader::{LoadOptions, Streams};
use sqlx::PgPool;

use crate::helpers::*;

/// Bounds of the leaves, `FROM` and `TO` only.
fn bounds(leaves: &[(String, String)]) -> Vec<&str> {
    leaves.iter().map(|(_, bound)| bound.as_str()).collect()
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn each_stream_fills_its_own_part_of_the_day(pool: PgPool) {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:03");
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
            assert_eq!(rows, 2 * rows_per_file(), "{leaf}");
        }
        assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
    }
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn files_without_statistics_load_into_one_shared_table(pool: PgPool) {
    let reference = minutes_dir("2023-01-01 00:00", "2023-01-01 00:03");
    load(&pool, reference.path(), "2023-01-01")
        .await
        .expect("reference load");
    let expected = checksum_of_day(&pool, "2023-01-01").await;

    let dir = tempfile::tempdir().expect("temp dir");
    for index in 0..4 {
        let path = dir
            .path()
            .join(format!("2023-01-01 00:0{index}:00.parquet"));
        write_parquet_without_statistics(&path, &minute_batch(index));
    }
    let options = LoadOptions {
        streams: Streams::new(3).expect("valid"),
        analyze: true,
        ..options()
    };
    let report = load_using(&pool, dir.path(), "2023-01-01", &options)
        .await
        .expect("loads without statistics");
    let analyzed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stats WHERE schemaname = 'dwh'
           AND tablename LIKE 'data\\_sample\\_p20230101\\_%'",
    )
    .fetch_one(&pool)
    .await
    .expect("pg_stats");
    assert_eq!(
        analyzed, 5,
        "the shared table is analyzed after its streams"
    );
    assert_eq!(report.rows, 4 * rows_per_file() as u64);
    assert_eq!(
        bounds(&leaves_of_day(&pool, "2023-01-01").await),
        ["FOR VALUES FROM ('2023-01-01 00:00:00') TO ('2023-01-02 00:00:00')"]
    );
    assert_eq!(checksum_of_day(&pool, "2023-01-01").await, expected);
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
}
