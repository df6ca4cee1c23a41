//! A dataset of 21 columns, one of every mapped Arrow type, with nulls, found in the files
//! (no columns declared), hourly: every value round-trips exactly.

use std::sync::Arc;

use arrow_array::builder::StringDictionaryBuilder;
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
    Int8Array, Int16Array, Int32Array, Int64Array, LargeStringArray, RecordBatch, StringArray,
    Time64MicrosecondArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, UInt8Array, UInt16Array, UInt32Array, UInt64Array,
};
use arrow_schema::{Field, Schema};
use sqlx::PgPool;

use super::{catalog, datasets, load, texts, write};

const ROWS: i64 = 40;
/// 2024-03-09 00:00 UTC in seconds.
const DAY_START: i64 = 1_709_942_400;

const TOML: &str = r#"
[[dataset]]
name = "rides"
table = "taxi.rides"
source = "rides"
files = "%Y/%m/%d/%H.parquet"
partition_column = "Pickup Time"
"#;

/// Null in row `i` of a nullable column: every seventh row, from the fourth.
fn null_at(i: i64) -> bool {
    i % 7 == 3
}

fn opt<T>(i: i64, value: T) -> Option<T> {
    (!null_at(i)).then_some(value)
}

type Columns = Vec<(&'static str, ArrayRef, bool)>;

/// `f` of each row, null on the null rows.
fn each<T>(ids: &[i64], f: impl Fn(i64) -> T) -> Vec<Option<T>> {
    ids.iter().map(|&i| opt(i, f(i))).collect()
}

/// The rows of hour `hour`: `id` is the row's number in the day.
fn hour_batch(hour: i64) -> RecordBatch {
    let ids: Vec<i64> = (hour * ROWS..(hour + 1) * ROWS).collect();
    let pickup_us: Vec<i64> = ids
        .iter()
        .map(|&i| (DAY_START + hour * 3600 + i % 3600) * 1_000_000)
        .collect();
    let mut columns: Columns = vec![
        ("id", Arc::new(Int64Array::from(ids.clone())), false),
        (
            "Pickup Time",
            Arc::new(TimestampMicrosecondArray::from(pickup_us)),
            false,
        ),
    ];
    columns.extend(numbers(&ids));
    columns.extend(texts_and_bytes(&ids));
    columns.extend(times(&ids));
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array, nullable)| Field::new(*name, array.data_type().clone(), *nullable))
        .collect();
    let arrays = columns.into_iter().map(|(_, array, _)| array).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("batch")
}

fn numbers(ids: &[i64]) -> Columns {
    let fare = Decimal128Array::from(each(ids, |i| i128::from(i * 101 - 5000)))
        .with_precision_and_scale(10, 2)
        .expect("decimal");
    vec![
        (
            "i8",
            Arc::new(Int8Array::from(each(ids, |i| (i % 100 - 50) as i8))),
            true,
        ),
        (
            "i16",
            Arc::new(Int16Array::from(each(ids, |i| (i * 3 - 700) as i16))),
            true,
        ),
        (
            "i32",
            Arc::new(Int32Array::from(each(ids, |i| {
                (i * 100_003 - 40_000_000) as i32
            }))),
            true,
        ),
        (
            "u8",
            Arc::new(UInt8Array::from(each(ids, |i| (200 + i % 50) as u8))),
            true,
        ),
        (
            "u16",
            Arc::new(UInt16Array::from(each(ids, |i| (60_000 + i) as u16))),
            true,
        ),
        (
            "u32",
            Arc::new(UInt32Array::from(each(ids, |i| (4_000_000_000 + i) as u32))),
            true,
        ),
        (
            "u64",
            Arc::new(UInt64Array::from(each(ids, |i| u64::MAX - i as u64))),
            true,
        ),
        (
            "f32",
            Arc::new(Float32Array::from(each(ids, |i| i as f32 + 0.5))),
            true,
        ),
        (
            "f64",
            Arc::new(Float64Array::from(each(ids, |i| i as f64 / 8.0))),
            true,
        ),
        (
            "flag",
            Arc::new(BooleanArray::from(each(ids, |i| i % 2 == 1))),
            true,
        ),
        ("fare", Arc::new(fare), true),
    ]
}

fn texts_and_bytes(ids: &[i64]) -> Columns {
    let mut category = StringDictionaryBuilder::<Int32Type>::new();
    for &i in ids {
        category.append_option(opt(i, ["red", "green", "blue"][(i % 3) as usize]));
    }
    let payload = |i: i64| {
        if i % 2 == 0 {
            &b"\x00\x01"[..]
        } else {
            &b"\xff"[..]
        }
    };
    vec![
        (
            "name",
            Arc::new(StringArray::from(each(ids, |i| format!("rider-{i}")))),
            true,
        ),
        (
            "note",
            Arc::new(LargeStringArray::from(each(ids, |i| format!("é{i}'\"x")))),
            true,
        ),
        ("category", Arc::new(category.finish()), true),
        (
            "payload",
            Arc::new(BinaryArray::from(each(ids, payload))),
            true,
        ),
    ]
}

fn times(ids: &[i64]) -> Columns {
    let dropoff =
        TimestampMillisecondArray::from(each(ids, |i| (DAY_START + 7200 + i) * 1000 + 250));
    let sensor = each(ids, |i| (DAY_START + i) * 1_000_000_000 + 123_000);
    vec![
        (
            "service_day",
            Arc::new(Date32Array::from(each(ids, |i| (19_791 - i % 3) as i32))),
            true,
        ),
        ("dropoff", Arc::new(dropoff.with_timezone("UTC")), true),
        (
            "sensor_ns",
            Arc::new(TimestampNanosecondArray::from(sensor)),
            true,
        ),
        (
            "clock",
            Arc::new(Time64MicrosecondArray::from(each(ids, |i| {
                (i % 86_400) * 1_000_000 + 7
            }))),
            true,
        ),
    ]
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn every_mapped_type_round_trips_from_hourly_files(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    for hour in 0..24 {
        write(
            &dir.path()
                .join(format!("rides/2024/03/09/{hour:02}.parquet")),
            &hour_batch(hour),
        );
    }
    let datasets = datasets(TOML, dir.path());
    let rides = datasets.get("rides").expect("declared");
    let report = load(&pool, rides, "2024-03-09").await.expect("loads");
    assert_eq!(report.rows, 24 * ROWS as u64);
    assert_eq!(report.files, 24);
    assert_eq!(
        catalog(&pool, "taxi.rides").await,
        [
            "id bigint not null",
            "Pickup Time timestamp without time zone not null",
            "i8 smallint",
            "i16 smallint",
            "i32 integer",
            "u8 smallint",
            "u16 integer",
            "u32 bigint",
            "u64 numeric(20,0)",
            "f32 real",
            "f64 double precision",
            "flag boolean",
            "fare numeric(10,2)",
            "name text",
            "note text",
            "category text",
            "payload bytea",
            "service_day date",
            "dropoff timestamp with time zone",
            "sensor_ns timestamp without time zone",
            "clock time without time zone",
        ]
    );
    check_values(&pool).await;
}

/// Rows 0 to 3 of each column (row 3 is a null row), as PostgreSQL prints them.
const EXPECTED: [(&str, [&str; 4]); 17] = [
    (
        "Pickup Time",
        [
            "2024-03-09 00:00:00",
            "2024-03-09 00:00:01",
            "2024-03-09 00:00:02",
            "2024-03-09 00:00:03",
        ],
    ),
    ("i8", ["-50", "-49", "-48", "NULL"]),
    ("i32", ["-40000000", "-39899997", "-39799994", "NULL"]),
    ("u8", ["200", "201", "202", "NULL"]),
    ("u32", ["4000000000", "4000000001", "4000000002", "NULL"]),
    (
        "u64",
        [
            "18446744073709551615",
            "18446744073709551614",
            "18446744073709551613",
            "NULL",
        ],
    ),
    ("f32", ["0.5", "1.5", "2.5", "NULL"]),
    ("f64", ["0", "0.125", "0.25", "NULL"]),
    ("flag", ["false", "true", "false", "NULL"]),
    ("note", ["é0'\"x", "é1'\"x", "é2'\"x", "NULL"]),
    ("category", ["red", "green", "blue", "NULL"]),
    ("payload", ["\\x0001", "\\xff", "\\x0001", "NULL"]),
    (
        "service_day",
        ["2024-03-09", "2024-03-08", "2024-03-07", "NULL"],
    ),
    (
        "dropoff",
        [
            "2024-03-09 02:00:00.25+00",
            "2024-03-09 02:00:01.25+00",
            "2024-03-09 02:00:02.25+00",
            "NULL",
        ],
    ),
    (
        "sensor_ns",
        [
            "2024-03-09 00:00:00.000123",
            "2024-03-09 00:00:01.000123",
            "2024-03-09 00:00:02.000123",
            "NULL",
        ],
    ),
    (
        "clock",
        [
            "00:00:00.000007",
            "00:00:01.000007",
            "00:00:02.000007",
            "NULL",
        ],
    ),
    ("fare", ["-50.00", "-48.99", "-47.98", "NULL"]),
];

/// Every column of rows 0 to 3 as [`EXPECTED`] says.
async fn check_values(pool: &PgPool) {
    sqlx::query("SET TIME ZONE 'UTC'")
        .execute(pool)
        .await
        .expect("utc");
    let first = |values: Vec<String>| values.into_iter().take(4).collect::<Vec<_>>();
    for (column, expected) in EXPECTED {
        assert_eq!(
            first(texts(pool, "taxi.rides", column).await),
            expected,
            "column {column}"
        );
    }
    let last: i64 = sqlx::query_scalar("SELECT max(id) FROM taxi.rides")
        .fetch_one(pool)
        .await
        .expect("max");
    assert_eq!(last, 24 * ROWS - 1);
}
