//! Schema drift: a file whose columns are not the table's.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use sqlx::PgPool;

use super::{batch, datasets, load, texts, write};

const TOML: &str = r#"
[[dataset]]
name = "readings"
table = "plant.readings"
source = "readings"
files = "%Y-%m-%d.parquet"
partition_column = "at"
columns = [
    { name = "id", type = "bigint", not_null = true },
    { name = "at", type = "timestamp" },
    { name = "value", type = "integer" },
    { name = "unit", type = "text" },
]
"#;

/// 2024-03-09 00:00 in µs since 1970.
const DAY_US: i64 = 1_709_942_400_000_000;

/// A day's file with `columns` beside `at`.
fn file(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let rows = columns.first().map_or(3, |c| c.1.len());
    let mut all: Vec<(&str, ArrayRef)> = vec![(
        "at",
        Arc::new(TimestampMicrosecondArray::from_iter_values(
            (0..rows as i64).map(|i| DAY_US + i),
        )),
    )];
    all.extend(columns);
    batch(all)
}

fn ids() -> ArrayRef {
    Arc::new(Int64Array::from(vec![1, 2, 3]))
}

/// Loads the one file and returns the error's text, or "loaded".
async fn load_file(pool: &PgPool, batch: &RecordBatch) -> String {
    let dir = tempfile::tempdir().expect("dir");
    write(&dir.path().join("readings/2024-03-09.parquet"), batch);
    let datasets = datasets(TOML, dir.path());
    match load(
        pool,
        datasets.get("readings").expect("readings"),
        "2024-03-09",
    )
    .await
    {
        Ok(_) => "loaded".to_owned(),
        Err(error) => error.to_string(),
    }
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_missing_nullable_column_loads_as_null(pool: PgPool) {
    let values: ArrayRef = Arc::new(Int32Array::from(vec![7, 8, 9]));
    let outcome = load_file(&pool, &file(vec![("id", ids()), ("value", values)])).await;
    assert_eq!(outcome, "loaded");
    assert_eq!(
        texts(&pool, "plant.readings", "unit").await,
        ["NULL", "NULL", "NULL"]
    );
    assert_eq!(
        texts(&pool, "plant.readings", "value").await,
        ["7", "8", "9"]
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_column_the_table_lacks_fails_naming_file_and_column(pool: PgPool) {
    let extra: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "c"]));
    let outcome = load_file(&pool, &file(vec![("id", ids()), ("site", extra)])).await;
    assert!(
        outcome.ends_with(
            "readings/2024-03-09.parquet, column site: unexpected column (type Utf8); the \
             table has only id, at, value, unit"
        ),
        "{outcome}"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_missing_not_null_column_fails(pool: PgPool) {
    let values: ArrayRef = Arc::new(Int32Array::from(vec![7, 8, 9]));
    let outcome = load_file(&pool, &file(vec![("value", values)])).await;
    assert!(
        outcome.ends_with("readings/2024-03-09.parquet, column id: missing column"),
        "{outcome}"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_type_that_does_not_widen_losslessly_fails_naming_both_types(pool: PgPool) {
    let wide: ArrayRef = Arc::new(Int64Array::from(vec![7, 8, 9]));
    let outcome = load_file(&pool, &file(vec![("id", ids()), ("value", wide)])).await;
    assert!(
        outcome.ends_with(
            "readings/2024-03-09.parquet, column value: type Int64 is not accepted; expected \
             a type that widens into integer without loss"
        ),
        "{outcome}"
    );
    let text: ArrayRef = Arc::new(StringArray::from(vec!["x", "y", "z"]));
    let outcome = load_file(&pool, &file(vec![("id", ids()), ("value", text)])).await;
    assert!(
        outcome.contains("column value: type Utf8 is not accepted"),
        "{outcome}"
    );
}

const ADDING: &str = r#"
[[dataset]]
name = "readings"
table = "plant.readings"
source = "readings"
files = "%Y-%m-%d.parquet"
partition_column = "at"
schema_drift = "add_columns"
columns = [
    { name = "id", type = "bigint", not_null = true },
    { name = "at", type = "timestamp" },
]
"#;

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn with_add_columns_the_swap_adds_a_new_column_and_earlier_days_read_null(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let datasets = datasets(ADDING, dir.path());
    let readings = datasets.get("readings").expect("readings");
    let at = |day_us: i64| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from_iter_values(
            (0..3).map(|i| day_us + i),
        ))
    };
    let first = batch(vec![("id", ids()), ("at", at(DAY_US))]);
    write(&dir.path().join("readings/2024-03-09.parquet"), &first);
    load(&pool, readings, "2024-03-09")
        .await
        .expect("first day");

    let site: ArrayRef = Arc::new(StringArray::from(vec![Some("north"), None, Some("south")]));
    let next_day = DAY_US + 86_400_000_000;
    let later_ids: ArrayRef = Arc::new(Int64Array::from(vec![4, 5, 6]));
    let second = batch(vec![
        ("id", later_ids),
        ("at", at(next_day)),
        ("site", site),
    ]);
    write(&dir.path().join("readings/2024-03-10.parquet"), &second);
    load(&pool, readings, "2024-03-10")
        .await
        .expect("the day with a new column");

    assert_eq!(
        texts(&pool, "plant.readings", "site").await,
        ["NULL", "NULL", "NULL", "north", "NULL", "south"]
    );
    // The table keeps it: the next load of the first day, without it, reads NULL.
    load(&pool, readings, "2024-03-09")
        .await
        .expect("reload without the column");
    assert_eq!(
        texts(&pool, "plant.readings", "site").await[..3],
        ["NULL", "NULL", "NULL"]
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_version_kept_before_a_column_was_added_rolls_back_reading_null(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let datasets = datasets(ADDING, dir.path());
    let readings = datasets.get("readings").expect("readings");
    let at: ArrayRef = Arc::new(TimestampMicrosecondArray::from_iter_values(
        (0..3).map(|i| DAY_US + i),
    ));
    let file = dir.path().join("readings/2024-03-09.parquet");
    write(&file, &batch(vec![("id", ids()), ("at", Arc::clone(&at))]));
    load(&pool, readings, "2024-03-09")
        .await
        .expect("version 1");
    let site: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "c"]));
    write(
        &file,
        &batch(vec![("id", ids()), ("at", at), ("site", site)]),
    );
    load(&pool, readings, "2024-03-09")
        .await
        .expect("version 2 adds site");

    let mut conn = pool.acquire().await.expect("connection");
    let table = loader::ensure_table(&mut conn, readings, None)
        .await
        .expect("table");
    let options = loader::RollbackOptions::default();
    let cancel = tokio_util::sync::CancellationToken::new();
    let date = "2024-03-09".parse().expect("date");
    loader::rollback_day_of(&pool, &table, date, 1, &options, &cancel)
        .await
        .expect("version 1 comes back");
    assert_eq!(
        texts(&pool, "plant.readings", "site").await,
        ["NULL", "NULL", "NULL"]
    );
}
