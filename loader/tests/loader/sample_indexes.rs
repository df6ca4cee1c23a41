//! The sample's indexes: its default (`brin (create_at)`) on every leaf a load makes,
//! none when `SAMPLE_INDEXES` says `none`, and two first loads at once (two days, a fresh
//! database) both making the table's index without either failing.

use chrono::NaiveDate;
use loader::{DataSource, Datasets, IndexSpec, load_dataset_day};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

/// Each index on the sample's table and its leaves: (table, its definition after USING).
async fn sample_indexes(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT c.relname::text, substring(pg_get_indexdef(i.indexrelid) from ' USING .*$')
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'dwh' AND c.relname LIKE 'data_sample%'
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("indexes")
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn the_sample_gets_its_default_index_on_every_leaf(pool: PgPool) {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:03");
    load(&pool, dir.path(), "2023-01-01").await.expect("load");
    let indexes = sample_indexes(&pool).await;
    let leaves = leaves_of_day(&pool, "2023-01-01").await;
    assert!(!leaves.is_empty());
    // The table, the day's table, and each leaf: a BRIN on create_at.
    assert_eq!(indexes.len(), leaves.len() + 2, "{indexes:?}");
    for (table, using) in &indexes {
        assert_eq!(using, " USING brin (create_at)", "{table}");
    }
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn sample_indexes_none_builds_none(pool: PgPool) {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:03");
    let source = dir.path().to_string_lossy().into_owned();
    let datasets = Datasets::sample_only(&source).with_sample(Vec::new(), None);
    let sample = datasets.default_dataset();
    let date: NaiveDate = "2023-01-01".parse().expect("date");
    let files = DataSource::Dir(dir.path().to_path_buf());
    load_dataset_day(
        &pool,
        sample,
        &files,
        date,
        &options(),
        &|_| {},
        &CancellationToken::new(),
    )
    .await
    .expect("load");
    assert_eq!(sample_indexes(&pool).await, Vec::<(String, String)>::new());
    // Another index instead, by its declaration.
    let hash = IndexSpec::parse("hash (sensor_serial)").expect("an index");
    let datasets = Datasets::sample_only(&source).with_sample(vec![hash], None);
    let reload = options();
    load_dataset_day(
        &pool,
        datasets.default_dataset(),
        &files,
        date,
        &reload,
        &|_| {},
        &CancellationToken::new(),
    )
    .await
    .expect("reload");
    let indexes = sample_indexes(&pool).await;
    assert!(!indexes.is_empty());
    assert!(
        indexes
            .iter()
            .all(|(_, using)| using == " USING hash (sensor_serial)"),
        "{indexes:?}"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn two_first_loads_at_once_both_make_the_index(pool: PgPool) {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:01");
    add_minutes(dir.path(), "2023-01-02 00:00", "2023-01-02 00:01");
    for round in 0..3 {
        // Each round starts without the table's index, as a fresh database does (dropping
        // it drops the days' and leaves' with it).
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT indexname::text FROM pg_indexes
             WHERE schemaname = 'dwh' AND tablename = 'data_sample'",
        )
        .fetch_all(&pool)
        .await
        .expect("names");
        for name in names {
            sqlx::query(&format!("DROP INDEX dwh.\"{name}\""))
                .execute(&pool)
                .await
                .expect("drop");
        }
        assert_eq!(sample_indexes(&pool).await, Vec::<(String, String)>::new());
        let (a, b) = tokio::join!(
            load(&pool, dir.path(), "2023-01-01"),
            load(&pool, dir.path(), "2023-01-02")
        );
        a.expect("the first day");
        b.expect("the second day");
        let indexes = sample_indexes(&pool).await;
        assert!(
            indexes.iter().any(|(t, _)| t == "data_sample"),
            "round {round}: {indexes:?}"
        );
    }
}
