//! A dataset's indexes: built on each leaf before the swap (never by the swap: every leaf
//! index is one the load built, none PostgreSQL made at the attach), valid, used by the
//! planner; kept through a reload and a rollback; declared after days were loaded, given
//! to a reloaded day and to a kept version rolled back to; a bad one refused before the
//! swap with the old day intact.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, TimestampMicrosecondArray};
use loader::{LoadError, RollbackOptions};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::{batch, datasets, load, load_with, write};

const DAY: &str = "2024-03-09";
/// 2024-03-09 in microseconds since 1970.
const DAY_US: i64 = 19_791 * 86_400_000_000;

fn declaration(indexes: &str) -> String {
    format!(
        r#"
[[dataset]]
name = "meters"
table = "energy.meters"
source = "meters"
files = "%Y-%m-%d/%H.parquet"
partition_column = "read_at"
indexes = [{indexes}]
columns = [
    {{ name = "meter", type = "bigint", not_null = true }},
    {{ name = "read_at", type = "timestamp", not_null = true }},
    {{ name = "kwh", type = "double precision" }},
]
"#
    )
}

const INDEXES: &str = r#""btree (meter, read_at)", "brin (read_at)""#;

fn write_day(root: &std::path::Path) {
    for hour in 0..24_i64 {
        let at: Vec<i64> = (0..50)
            .map(|i| DAY_US + hour * 3_600_000_000 + i * 60_000_000)
            .collect();
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("meter", Arc::new(Int64Array::from_iter_values(0..50))),
            ("read_at", Arc::new(TimestampMicrosecondArray::from(at))),
            ("kwh", Arc::new(Float64Array::from(vec![hour as f64; 50]))),
        ];
        let path = root.join(format!("meters/{DAY}/{hour:02}.parquet"));
        write(&path, &batch(columns));
    }
}

/// (index name, valid, `USING …`) of every index of every leaf of the day, in order.
async fn leaf_indexes(pool: &PgPool) -> Vec<(String, bool, String)> {
    sqlx::query_as(
        "SELECT x.relname::text, i.indisvalid,
                substring(pg_get_indexdef(i.indexrelid) FROM ' USING .*$')
         FROM pg_inherits h JOIN pg_index i ON i.indrelid = h.inhrelid
         JOIN pg_class x ON x.oid = i.indexrelid
         WHERE h.inhparent = 'energy.meters_p20240309'::regclass
         ORDER BY h.inhrelid, 3",
    )
    .fetch_all(pool)
    .await
    .expect("leaf indexes")
}

/// Every leaf has both indexes, valid, each built by a load (`dwh_ix_…`), none by an
/// attach; and the day's table has both, attached to the table's.
async fn check_indexed(pool: &PgPool, what: &str) {
    let found = leaf_indexes(pool).await;
    assert!(!found.is_empty(), "{what}: no index");
    assert_eq!(found.len() % 2, 0, "{what}: {found:?}");
    for (n, (name, valid, using)) in found.iter().enumerate() {
        assert!(
            name.starts_with("dwh_ix_"),
            "{what}: {name} was not built before the swap"
        );
        assert!(valid, "{what}: {name} is not valid");
        let expected = [" USING brin (read_at)", " USING btree (meter, read_at)"][n % 2];
        assert_eq!(using, expected, "{what}");
    }
    let attached: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_index p JOIN pg_inherits h ON h.inhparent = p.indexrelid
         JOIN pg_index c ON c.indexrelid = h.inhrelid
         WHERE p.indrelid = 'energy.meters'::regclass
           AND c.indrelid = 'energy.meters_p20240309'::regclass",
    )
    .fetch_one(pool)
    .await
    .expect("day's indexes");
    assert_eq!(attached, 2, "{what}: the day's table's indexes");
}

/// The plan of one meter's readings of the day uses the btree index.
async fn check_plan(pool: &PgPool) {
    let mut conn = pool.acquire().await.expect("connection");
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .expect("set");
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT * FROM energy.meters
         WHERE meter = 7 AND read_at >= '2024-03-09' AND read_at < '2024-03-10'",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("plan");
    let plan = plan.join("\n");
    assert!(plan.contains("Index") && plan.contains("dwh_ix_"), "{plan}");
}

/// Rolls the day of `meters` back to its version 1.
async fn roll_back_to_first(pool: &PgPool, meters: &loader::Dataset) {
    let columns = meters.columns.clone().expect("declared columns");
    let table = meters.table_with(columns).expect("table");
    let date = DAY.parse().expect("date");
    let options = RollbackOptions::default();
    loader::rollback_day_of(pool, &table, date, 1, &options, &CancellationToken::new())
        .await
        .expect("rollback");
}

async fn version(pool: &PgPool) -> (i32, i64) {
    sqlx::query_as("SELECT version, rows FROM dwh.day_loads WHERE dataset = 'meters'")
        .fetch_one(pool)
        .await
        .expect("record")
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn indexes_are_built_before_the_swap_and_kept_through_reloads_and_rollbacks(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    write_day(dir.path());
    let indexed = datasets(&declaration(INDEXES), dir.path());
    let meters = indexed.get("meters").expect("meters");
    load(&pool, meters, DAY).await.expect("first load");
    check_indexed(&pool, "after a load").await;
    check_plan(&pool).await;
    load(&pool, meters, DAY).await.expect("reload");
    check_indexed(&pool, "after a reload").await;
    roll_back_to_first(&pool, meters).await;
    check_indexed(&pool, "after a rollback").await;
    assert_eq!(version(&pool).await, (1, 1200));

    // A declaration PostgreSQL refuses fails before anything is copied; the day stays.
    let bad = format!(r#"{INDEXES}, "btree (nope)""#);
    let refused = datasets(&declaration(&bad), dir.path());
    let error = load(&pool, refused.get("meters").expect("meters"), DAY)
        .await
        .expect_err("an unknown column");
    assert!(matches!(error, LoadError::DatasetInvalid { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("btree (nope)") && message.contains("nope"),
        "{message}"
    );
    assert_eq!(version(&pool).await, (1, 1200));
    check_indexed(&pool, "after a refused load").await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn indexes_declared_later_reach_a_reloaded_day_and_a_kept_version(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    write_day(dir.path());
    let plain = datasets(&declaration(""), dir.path());
    load(&pool, plain.get("meters").expect("meters"), DAY)
        .await
        .expect("a load without indexes");
    assert!(leaf_indexes(&pool).await.is_empty());

    let indexed = datasets(&declaration(INDEXES), dir.path());
    let meters = indexed.get("meters").expect("meters");
    load(&pool, meters, DAY).await.expect("a reload with them");
    check_indexed(&pool, "a day loaded before its indexes, reloaded").await;
    // Version 1 was kept without them: the rollback builds them in the history first.
    roll_back_to_first(&pool, meters).await;
    check_indexed(&pool, "a version kept without indexes, rolled back to").await;
    check_plan(&pool).await;
}

/// Rows of `pg_stats` for the leaves of the day: planner statistics only `ANALYZE` makes.
async fn leaf_statistics(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stats s
         JOIN pg_inherits i ON i.inhrelid = format('%I.%I', s.schemaname, s.tablename)::regclass
         WHERE i.inhparent = 'energy.meters_p20240309'::regclass",
    )
    .fetch_one(pool)
    .await
    .expect("statistics")
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_dataset_that_asks_is_analyzed_before_its_swap(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    write_day(dir.path());
    let plain = datasets(&declaration(INDEXES), dir.path());
    let meters = plain.get("meters").expect("meters");
    let options = loader::dataset_options(meters, loader::LoadOptions::default()).expect("options");
    load_with(&pool, meters, DAY, &options).await.expect("load");
    assert_eq!(leaf_statistics(&pool).await, 0, "not analyzed by default");

    let asks = declaration(INDEXES).replace(
        "partition_column = \"read_at\"\n",
        "partition_column = \"read_at\"\nanalyze = true\n",
    );
    let analyzed = datasets(&asks, dir.path());
    let meters = analyzed.get("meters").expect("meters");
    let options = loader::dataset_options(meters, loader::LoadOptions::default()).expect("options");
    assert!(options.analyze);
    load_with(&pool, meters, DAY, &options)
        .await
        .expect("reload");
    // Each of the three columns of each new leaf has its statistics.
    let leaves = sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'energy.meters_p20240309'::regclass",
    )
    .fetch_one(&pool)
    .await
    .expect("leaves");
    assert_eq!(leaf_statistics(&pool).await, 3 * leaves);
}
