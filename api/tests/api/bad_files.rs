//! The catalogue of bad source files, through the API: each one fails its job with a
//! message that names the file (and the row and column where there is one); the day keeps
//! its old rows and no staging table is left. Nothing answers 5xx or panics.

use std::path::Path;
use std::sync::Arc;

use crate::helpers::*;
use api::domain::JobStatus;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, TimestampNanosecondArray};
use arrow_schema::{DataType, Field, TimeUnit};
use sqlx::PgPool;

const DAY: &str = "2023-01-01";
const BAD: &str = "2023-01-01 00:03:00.parquet";

/// What a bad file looks like on disk.
enum Bad {
    Bytes(Vec<u8>),
    Batch(RecordBatch),
    /// A directory where a file should be: unreadable as a file, even for root.
    Directory,
}

struct Case {
    name: &'static str,
    file: Bad,
    row: Option<i64>,
    column: Option<&'static str>,
    /// A fragment the message must contain.
    says: &'static str,
}

/// The bad file stands in for minute 3 of the day.
const MINUTE: u32 = 3;

/// Minute 3's batch with `edit` applied to its fields and columns.
fn edited(edit: impl FnOnce(&mut Vec<Field>, &mut Vec<ArrayRef>)) -> RecordBatch {
    edited_minute(MINUTE, edit)
}

/// Column `index` replaced (field and values).
fn with_column(index: usize, field: Field, values: ArrayRef) -> RecordBatch {
    edited(|fields, columns| {
        fields[index] = field;
        columns[index] = values;
    })
}

fn without_column(index: usize) -> RecordBatch {
    edited(|fields, columns| {
        fields.remove(index);
        columns.remove(index);
    })
}

fn with_extra_column() -> RecordBatch {
    edited(|fields, columns| {
        fields.push(Field::new("note", DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from(vec![
            Some("x");
            rows_per_file() as usize
        ])));
    })
}

/// `values` with the value of `row` changed by `change`.
fn changed_at(
    values: &TimestampNanosecondArray,
    row: usize,
    change: impl Fn(Option<i64>) -> Option<i64>,
) -> ArrayRef {
    Arc::new(
        values
            .iter()
            .enumerate()
            .map(|(r, v)| if r == row { change(v) } else { v })
            .collect::<TimestampNanosecondArray>(),
    )
}

fn timestamps(index: usize) -> TimestampNanosecondArray {
    minute_batch(MINUTE)
        .column(index)
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .expect("ns timestamps")
        .clone()
}

fn catalogue() -> Vec<Case> {
    let good = parquet_bytes(&minute_batch(MINUTE));
    let ts_field =
        |name: &str| Field::new(name, DataType::Timestamp(TimeUnit::Nanosecond, None), true);
    let created = timestamps(2);
    let expires = timestamps(4);
    let mut corrupt = good.clone();
    // Overwrite the middle (column chunk data) and keep the footer: the schema reads,
    // the pages do not.
    let middle = corrupt.len() / 2;
    corrupt[middle - 2000..middle + 2000].fill(0xA5);
    vec![
        Case {
            name: "zero-byte file",
            file: Bad::Bytes(Vec::new()),
            row: None,
            column: None,
            says: "",
        },
        Case {
            name: "truncated file",
            file: Bad::Bytes(good[..good.len() / 2].to_vec()),
            row: None,
            column: None,
            says: "",
        },
        Case {
            name: "not Parquet at all",
            file: Bad::Bytes(b"department_name,sensor_serial\nx,y\n".to_vec()),
            row: None,
            column: None,
            says: "",
        },
        Case {
            name: "corrupt pages",
            file: Bad::Bytes(corrupt),
            row: None,
            column: None,
            says: "",
        },
        Case {
            name: "a directory named like a file",
            file: Bad::Directory,
            row: None,
            column: None,
            says: "",
        },
        Case {
            name: "missing column",
            file: Bad::Batch(without_column(4)),
            row: None,
            column: Some("product_expire"),
            says: "missing column",
        },
        Case {
            name: "extra column",
            file: Bad::Batch(with_extra_column()),
            row: None,
            column: Some("note"),
            says: "",
        },
        Case {
            name: "wrong type",
            file: Bad::Batch(with_column(
                2,
                Field::new("create_at", DataType::Int64, true),
                Arc::new(arrow_array::Int64Array::from(vec![
                    0_i64;
                    rows_per_file() as usize
                ])),
            )),
            row: None,
            column: Some("create_at"),
            says: "type Int64 is not accepted",
        },
        Case {
            name: "timestamp with a time zone",
            file: Bad::Batch({
                let data_type = DataType::Timestamp(TimeUnit::Nanosecond, Some("+00:00".into()));
                with_column(
                    4,
                    Field::new("product_expire", data_type.clone(), true),
                    arrow_cast_tz(&expires, &data_type),
                )
            }),
            row: None,
            column: Some("product_expire"),
            says: "is not accepted",
        },
        Case {
            name: "null create_at",
            file: Bad::Batch(with_column(
                2,
                ts_field("create_at"),
                changed_at(&created, 5, |_| None),
            )),
            row: Some(5),
            column: Some("create_at"),
            says: "is null",
        },
        Case {
            name: "create_at outside the day",
            file: Bad::Batch(with_column(
                2,
                ts_field("create_at"),
                changed_at(&created, 9, |v| v.map(|ns| ns + 86_400_000_000_000)),
            )),
            row: Some(9),
            column: Some("create_at"),
            says: "",
        },
        Case {
            name: "string over its VARCHAR",
            file: Bad::Batch({
                let products = minute_batch(MINUTE)
                    .column(3)
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .expect("utf8")
                    .clone();
                let values: StringArray = products
                    .iter()
                    .enumerate()
                    .map(|(r, v)| if r == 7 { Some("seventeen-chars!!") } else { v })
                    .collect();
                with_column(
                    3,
                    Field::new("product_name", DataType::Utf8, true),
                    Arc::new(values),
                )
            }),
            row: Some(7),
            column: Some("product_name"),
            says: "longer than VARCHAR(16)",
        },
        Case {
            name: "sub-microsecond timestamp",
            file: Bad::Batch(with_column(
                4,
                ts_field("product_expire"),
                changed_at(&expires, 3, |v| v.map(|ns| ns + 1)),
            )),
            row: Some(3),
            column: Some("product_expire"),
            says: "sub-microsecond",
        },
    ]
}

fn arrow_cast_tz(values: &TimestampNanosecondArray, data_type: &DataType) -> ArrayRef {
    let DataType::Timestamp(_, tz) = data_type else {
        unreachable!("a timestamp type")
    };
    Arc::new(values.clone().with_timezone_opt(tz.clone()))
}

fn place(dir: &Path, bad: &Bad) {
    let path = dir.join(BAD);
    match bad {
        Bad::Bytes(bytes) => std::fs::write(&path, bytes).expect("write"),
        Bad::Batch(batch) => std::fs::write(&path, parquet_bytes(batch)).expect("write"),
        Bad::Directory => std::fs::create_dir(&path).expect("mkdir"),
    }
}

fn remove(dir: &Path) {
    let path = dir.join(BAD);
    if path.is_dir() {
        std::fs::remove_dir(&path).expect("rmdir");
    } else {
        std::fs::remove_file(&path).expect("rm");
    }
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn every_bad_file_fails_its_job_and_leaves_the_day(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:02");
    let app = spawn_app(&pool, data.path()).await;
    let first = app.queue(DAY).await;
    assert_eq!(
        app.wait_until_final(first.id).await.status,
        JobStatus::Succeeded
    );
    let old = (
        rows_of_day(&pool, DAY).await,
        checksum_of_day(&pool, DAY).await,
    );

    let cases = catalogue();
    assert!(cases.len() >= 13);
    for case in cases {
        place(data.path(), &case.file);
        let job = app.queue(DAY).await;
        let done = app.wait_until_final(job.id).await;
        remove(data.path());

        let name = case.name;
        assert_eq!(done.status, JobStatus::Failed, "{name}: {done:?}");
        assert_eq!(done.attempt, 1, "{name}: bad input is not retried");
        let error = done.error.expect("an error");
        assert!(
            error.file.as_deref().is_some_and(|f| f.ends_with(BAD)),
            "{name}: {error:?}"
        );
        assert!(error.message.contains(BAD), "{name}: {}", error.message);
        assert!(
            error.message.contains(case.says),
            "{name}: {}",
            error.message
        );
        assert_eq!(error.row, case.row, "{name}: {}", error.message);
        assert_eq!(
            error.column.as_deref(),
            case.column,
            "{name}: {}",
            error.message
        );
        assert_eq!(
            (
                rows_of_day(&pool, DAY).await,
                checksum_of_day(&pool, DAY).await
            ),
            old,
            "{name}: the old day is intact"
        );
        assert_eq!(leftover_tables(&pool).await, Vec::<String>::new(), "{name}");
    }
}
