//! Nested columns: loaded as jsonb when declared so, refused by name when not.

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, Int64Array, StringArray, StructArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field};
use sqlx::PgPool;

use super::{batch, datasets, load, texts, write};

const TOML: &str = r#"
[[dataset]]
name = "clicks"
table = "web.clicks"
source = "clicks"
files = "%Y-%m-%d.parquet"
partition_column = "at"
columns = [
    { name = "id", type = "bigint" },
    { name = "at", type = "timestamp" },
    { name = "tags", type = "jsonb" },
    { name = "device", type = "jsonb" },
    { name = "raw", type = "jsonb" },
]

[[dataset]]
name = "undeclared"
table = "web.undeclared"
source = "clicks"
files = "%Y-%m-%d.parquet"
partition_column = "at"
"#;

/// 2024-03-09 00:00 in µs since 1970.
const DAY_US: i64 = 1_709_942_400_000_000;

fn clicks(raw: Vec<Option<&str>>) -> arrow_array::RecordBatch {
    let mut tags = ListBuilder::new(StringBuilder::new());
    tags.append_value([Some("a"), Some("b")]);
    tags.append_null();
    tags.append_value([Some("q\"uote")]);
    let device = StructArray::from(vec![
        (
            Arc::new(Field::new("os", DataType::Utf8, true)),
            Arc::new(StringArray::from(vec![Some("linux"), None, Some("ios")])) as ArrayRef,
        ),
        (
            Arc::new(Field::new("version", DataType::Int64, true)),
            Arc::new(Int64Array::from(vec![6, 7, 17])) as ArrayRef,
        ),
    ]);
    batch(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        (
            "at",
            Arc::new(TimestampMicrosecondArray::from(vec![DAY_US; 3])),
        ),
        ("tags", Arc::new(tags.finish())),
        ("device", Arc::new(device)),
        ("raw", Arc::new(StringArray::from(raw))),
    ])
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn nested_columns_declared_jsonb_load_as_json(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("clicks/2024-03-09.parquet");
    write(
        &file,
        &clicks(vec![Some(r#"{"k": 1}"#), None, Some("[true]")]),
    );
    let datasets = datasets(TOML, dir.path());
    load(&pool, datasets.get("clicks").expect("clicks"), "2024-03-09")
        .await
        .expect("loads");
    assert_eq!(
        texts(&pool, "web.clicks", "tags").await,
        [r#"["a", "b"]"#, "NULL", r#"["q\"uote"]"#]
    );
    assert_eq!(
        texts(&pool, "web.clicks", "device").await,
        [
            r#"{"os": "linux", "version": 6}"#,
            r#"{"version": 7}"#,
            r#"{"os": "ios", "version": 17}"#
        ]
    );
    assert_eq!(
        texts(&pool, "web.clicks", "raw").await,
        [r#"{"k": 1}"#, "NULL", "[true]"]
    );

    write(&file, &clicks(vec![Some("{}"), Some("{not json"), None]));
    let error = load(&pool, datasets.get("clicks").expect("clicks"), "2024-03-09")
        .await
        .expect_err("not JSON");
    assert!(
        error.to_string().contains("row 1, column raw: is not JSON"),
        "{error}"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_nested_column_not_declared_jsonb_is_refused_by_name(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    write(
        &dir.path().join("clicks/2024-03-09.parquet"),
        &clicks(vec![None, None, None]),
    );
    let datasets = datasets(TOML, dir.path());
    let error = load(
        &pool,
        datasets.get("undeclared").expect("undeclared"),
        "2024-03-09",
    )
    .await
    .expect_err("nested");
    assert!(
        error.to_string().contains(
            "2024-03-09.parquet, column tags: type List(Utf8) is nested and has no faithful \
             PostgreSQL column type; declare the column as jsonb to load it as JSON"
        ),
        "{error}"
    );
}
