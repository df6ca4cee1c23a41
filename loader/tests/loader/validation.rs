//! The catalogue of bad input: each case names the file, row and column, and leaves the
//! day as it was. Accepted variants of the reference types load the same values.

use std::sync::Arc;

use crate::helpers::*;
use arrow_array::{
    Array, ArrayRef, Int32Array, StringArray, TimestampMicrosecondArray, TimestampNanosecondArray,
};
use arrow_schema::{DataType, Field, TimeUnit};
use sqlx::PgPool;

const BAD: &str = "2023-01-01 00:01:00.parquet";

/// Replaces column `index` (its field and its values).
fn set_column(
    index: usize,
    field: Field,
    values: ArrayRef,
) -> impl FnOnce(&mut Vec<Field>, &mut Vec<ArrayRef>) {
    move |fields, columns| {
        fields[index] = field;
        columns[index] = values;
    }
}

fn cast(column: &ArrayRef, to: &DataType) -> ArrayRef {
    arrow_cast::cast(column, to).expect("cast")
}

fn reference_column(index: usize) -> ArrayRef {
    minute_batch(1).column(index).clone()
}

/// With one good minute loaded, tries to replace the day with a good file plus `bad`.
/// Returns the error message, after checking the day and the schema were left alone.
async fn load_with_bad_file(
    pool: &PgPool,
    edit: impl FnOnce(&mut Vec<Field>, &mut Vec<ArrayRef>),
) -> String {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    load(pool, dir.path(), "2023-01-01")
        .await
        .expect("good load");
    write_parquet(&path_of(&dir, BAD), &edited_minute(1, edit));
    let error = load(pool, dir.path(), "2023-01-01")
        .await
        .expect_err("bad input is refused");
    assert_eq!(
        rows_of_day(pool, "2023-01-01").await,
        rows_per_file(),
        "old day intact"
    );
    assert_eq!(
        leftover_tables(pool).await,
        Vec::<String>::new(),
        "no staging left"
    );
    let message = error.to_string();
    let input = error
        .input()
        .unwrap_or_else(|| panic!("not an input error: {message}"));
    assert!(input.file.ends_with(BAD), "{message}");
    message
        .split_once(BAD)
        .map(|(_, rest)| rest.to_owned())
        .expect("message names the file")
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_missing_column(pool: PgPool) {
    let message = load_with_bad_file(&pool, |fields, columns| {
        fields.remove(4);
        columns.remove(4);
    })
    .await;
    assert_eq!(message, ", column product_expire: missing column");
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn an_extra_column(pool: PgPool) {
    let message = load_with_bad_file(&pool, |fields, columns| {
        fields.push(Field::new("note", DataType::Int32, true));
        columns.push(Arc::new(Int32Array::from(vec![
            1;
            rows_per_file() as usize
        ])));
    })
    .await;
    assert_eq!(
        message,
        ", column note: unexpected column (type Int32); the table has only department_name, \
         sensor_serial, create_at, product_name, product_expire"
    );
}

/// A nested column (a struct, as other writers make of grouped fields) where a flat string
/// is expected is named as such, not as corrupt data.
#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_nested_column(pool: PgPool) {
    let inner = Arc::new(Field::new("name", DataType::Utf8, false));
    let values: ArrayRef = Arc::new(arrow_array::StructArray::from(vec![(
        inner.clone(),
        reference_column(3),
    )]));
    let field = Field::new("product_name", DataType::Struct(vec![inner].into()), false);
    let message = load_with_bad_file(&pool, set_column(3, field, values)).await;
    assert_eq!(
        message,
        ", column product_name: a nested column: type Struct(\"name\": non-null Utf8) is not accepted; \
         expected a string (utf8, large_utf8, utf8_view or a dictionary of strings)"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_wrong_type(pool: PgPool) {
    let values: ArrayRef = Arc::new(arrow_array::Int64Array::from(vec![
        0_i64;
        rows_per_file() as usize
    ]));
    let field = Field::new("create_at", DataType::Int64, true);
    let message = load_with_bad_file(&pool, set_column(2, field, values)).await;
    assert_eq!(
        message,
        ", column create_at: type Int64 is not accepted; expected a timestamp without time zone \
         in ns, us, ms or s (PostgreSQL TIMESTAMP)"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_timestamp_with_a_time_zone(pool: PgPool) {
    let data_type = DataType::Timestamp(TimeUnit::Nanosecond, Some("+00:00".into()));
    let values = cast(&reference_column(4), &data_type);
    let message = load_with_bad_file(
        &pool,
        set_column(4, Field::new("product_expire", data_type, true), values),
    )
    .await;
    assert!(
        message
            .starts_with(", column product_expire: type Timestamp(ns, \"+00:00\") is not accepted"),
        "{message}"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_null_create_at(pool: PgPool) {
    let created = reference_column(2);
    let values: TimestampNanosecondArray = created
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .expect("ns")
        .iter()
        .enumerate()
        .map(|(row, v)| if row == 5 { None } else { v })
        .collect();
    let field = Field::new("create_at", created.data_type().clone(), true);
    let message = load_with_bad_file(&pool, set_column(2, field, Arc::new(values))).await;
    assert_eq!(
        message,
        ", row 5, column create_at: is null; every row needs a timestamp"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_string_longer_than_its_varchar(pool: PgPool) {
    let products = reference_column(3);
    let products = products
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("utf8");
    let values: StringArray = products
        .iter()
        .enumerate()
        .map(|(row, v)| {
            if row == 7 {
                Some("seventeen-chars!!")
            } else {
                v
            }
        })
        .collect();
    let field = Field::new("product_name", DataType::Utf8, true);
    let message = load_with_bad_file(&pool, set_column(3, field, Arc::new(values))).await;
    assert_eq!(
        message,
        ", row 7, column product_name: value of 17 characters is longer than VARCHAR(16)"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_timestamp_below_microsecond_precision(pool: PgPool) {
    let expires = reference_column(4);
    let expires = expires
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .expect("ns");
    let values: TimestampNanosecondArray = expires
        .iter()
        .enumerate()
        .map(|(row, v)| v.map(|ns| if row == 3 { ns + 1 } else { ns }))
        .collect();
    let field = Field::new("product_expire", expires.data_type().clone(), true);
    let message = load_with_bad_file(&pool, set_column(4, field, Arc::new(values))).await;
    assert!(
        message.starts_with(", row 3, column product_expire: nanosecond value ")
            && message.ends_with(
                " has sub-microsecond precision, which PostgreSQL TIMESTAMP cannot hold"
            ),
        "{message}"
    );
}

/// Loads minute 0 written with `edit` applied and checks it holds the reference values.
async fn assert_accepted(pool: &PgPool, edit: impl FnOnce(&mut Vec<Field>, &mut Vec<ArrayRef>)) {
    assert_written_accepted(pool, |path| write_parquet(path, &edited_minute(0, edit))).await;
}

/// Loads minute 0 as written by `write`, and checks it gives the reference rows.
async fn assert_written_accepted(pool: &PgPool, write: impl FnOnce(&std::path::Path)) {
    let reference = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    load(pool, reference.path(), "2023-01-01")
        .await
        .expect("reference loads");
    let expected = checksum_of_day(pool, "2023-01-01").await;

    let variant = tempfile::tempdir().expect("dir");
    write(&variant.path().join("2023-01-01 00:00:00.parquet"));
    load(pool, variant.path(), "2023-01-01")
        .await
        .expect("variant loads");
    assert_eq!(checksum_of_day(pool, "2023-01-01").await, expected);
}

fn recast(
    index: usize,
    name: &'static str,
    to: DataType,
) -> impl FnOnce(&mut Vec<Field>, &mut Vec<ArrayRef>) {
    move |fields, columns| {
        columns[index] = cast(&columns[index], &to);
        fields[index] = Field::new(name, to, true);
    }
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn microsecond_and_millisecond_timestamps_are_accepted(pool: PgPool) {
    assert_accepted(&pool, |fields, columns| {
        recast(
            2,
            "create_at",
            DataType::Timestamp(TimeUnit::Microsecond, None),
        )(fields, columns);
        recast(
            4,
            "product_expire",
            DataType::Timestamp(TimeUnit::Millisecond, None),
        )(fields, columns);
    })
    .await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn microseconds_stored_under_an_arrow_schema_that_says_nanoseconds_are_accepted(
    pool: PgPool,
) {
    // What pyarrow writes with coerce_timestamps="us": INT64 TIMESTAMP(MICROS) values and
    // footer statistics, under an embedded Arrow schema that still says timestamp[ns].
    let to_micros = DataType::Timestamp(TimeUnit::Microsecond, None);
    let stored = edited_minute(0, |fields, columns| {
        recast(2, "create_at", to_micros.clone())(fields, columns);
        recast(4, "product_expire", to_micros.clone())(fields, columns);
    });
    let write = |path: &std::path::Path| {
        let mut properties = parquet::file::properties::WriterProperties::builder().build();
        let original = generator::Dataset::new(0).minute_batch(0).schema();
        parquet::arrow::add_encoded_arrow_schema_to_metadata(&original, &mut properties);
        let options = parquet::arrow::arrow_writer::ArrowWriterOptions::new()
            .with_properties(properties)
            .with_skip_arrow_metadata(true);
        write_parquet_with(path, &stored, options);
    };
    assert_written_accepted(&pool, write).await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn large_and_dictionary_strings_are_accepted(pool: PgPool) {
    assert_accepted(&pool, |fields, columns| {
        recast(0, "department_name", DataType::LargeUtf8)(fields, columns);
        let dictionary = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        recast(3, "product_name", dictionary)(fields, columns);
    })
    .await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn columns_in_another_order_are_accepted(pool: PgPool) {
    assert_accepted(&pool, |fields, columns| {
        fields.swap(0, 4);
        columns.swap(0, 4);
    })
    .await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_null_product_expire_is_loaded_as_null(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let batch = edited_minute(0, |fields, columns| {
        let nulls: TimestampNanosecondArray = (0..rows_per_file() as usize)
            .map(|row| (row != 0).then_some(0))
            .collect();
        fields[4] = Field::new("product_expire", nulls.data_type().clone(), true);
        columns[4] = Arc::new(nulls);
    });
    write_parquet(&dir.path().join("2023-01-01 00:00:00.parquet"), &batch);
    load(&pool, dir.path(), "2023-01-01").await.expect("loads");
    let nulls: i64 =
        sqlx::query_scalar("SELECT count(*) FROM dwh.data_sample WHERE product_expire IS NULL")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(nulls, 1);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_nul_byte_in_a_string(pool: PgPool) {
    let names = reference_column(3);
    let names = names.as_any().downcast_ref::<StringArray>().expect("utf8");
    let values: StringArray = names
        .iter()
        .enumerate()
        .map(|(row, v)| if row == 5 { Some("ab\0cd") } else { v })
        .collect();
    let field = Field::new("product_name", DataType::Utf8, true);
    let message = load_with_bad_file(&pool, set_column(3, field, Arc::new(values))).await;
    assert_eq!(
        message,
        ", row 5, column product_name: contains a NUL byte (at byte 2), which PostgreSQL text \
         cannot hold"
    );
}

/// PostgreSQL's earliest TIMESTAMP, 4714-11-24 BC 00:00, in µs since 1970.
const POSTGRES_MIN_US: i64 = -210_866_803_200_000_000;

/// The reference `product_expire` in µs, with row 9 set to `value`.
fn expires_with(value: i64) -> (Field, ArrayRef) {
    let expires = reference_column(4);
    let expires = expires
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .expect("ns");
    let values: TimestampMicrosecondArray = expires
        .iter()
        .enumerate()
        .map(|(row, v)| {
            if row == 9 {
                Some(value)
            } else {
                v.map(|ns| ns / 1000)
            }
        })
        .collect();
    let field = Field::new(
        "product_expire",
        DataType::Timestamp(TimeUnit::Microsecond, None),
        true,
    );
    (field, Arc::new(values))
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_timestamp_before_what_postgres_holds(pool: PgPool) {
    let (field, values) = expires_with(POSTGRES_MIN_US - 1);
    let message = load_with_bad_file(&pool, set_column(4, field, values)).await;
    assert_eq!(
        message,
        ", row 9, column product_expire: -210866803200000001 µs since 1970 is before \
         4714-11-24 BC, the earliest TIMESTAMP PostgreSQL holds"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn the_earliest_timestamp_postgres_holds_is_loaded(pool: PgPool) {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let (field, values) = expires_with(POSTGRES_MIN_US);
    write_parquet(
        &path_of(&dir, BAD),
        &edited_minute(1, set_column(4, field, values)),
    );
    load(&pool, dir.path(), "2023-01-01")
        .await
        .expect("PostgreSQL holds the boundary");
    let earliest: String =
        sqlx::query_scalar("SELECT min(product_expire)::text FROM dwh.data_sample")
            .fetch_one(&pool)
            .await
            .expect("min");
    assert_eq!(earliest, "4714-11-24 00:00:00 BC");
}
