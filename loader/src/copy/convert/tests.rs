use arrow_array::TimestampMicrosecondArray;

use super::timestamps::POSTGRES_MIN_TIMESTAMP_US;
use super::*;

const MINUTE: i64 = 60_000_000;

fn check(values: Vec<i64>, promised: Option<(i64, i64)>) -> Result<(), String> {
    let day = TimeRange {
        start_us: 0,
        end_us: 1440 * MINUTE,
    };
    let origin = BatchOrigin {
        file: std::path::Path::new("f.parquet"),
        first_row: 100,
        promised,
    };
    let micros = TimestampMicrosecondArray::from(values);
    check_within_day(&micros, "create_at", day, &origin).map_err(|e| e.to_string())
}

#[test]
fn values_within_the_promised_range_pass() {
    assert_eq!(
        check(vec![MINUTE, 2 * MINUTE], Some((MINUTE, 2 * MINUTE))),
        Ok(())
    );
    assert_eq!(check(vec![5 * MINUTE], None), Ok(()));
}

#[test]
fn a_value_outside_the_footer_statistics_is_refused() {
    assert_eq!(
        check(vec![MINUTE, 3 * MINUTE], Some((MINUTE, 2 * MINUTE))),
        Err(
            "f.parquet, row 101, column create_at: 1970-01-01 00:03:00 lies outside \
             1970-01-01 00:01:00 … 1970-01-01 00:02:00, the range the file's footer \
             statistics give for this column: the footer does not match the data"
                .to_owned()
        )
    );
}

fn origin() -> BatchOrigin<'static> {
    BatchOrigin {
        file: std::path::Path::new("f.parquet"),
        first_row: 0,
        promised: None,
    }
}

#[test]
fn a_nul_byte_in_a_string_is_refused_with_its_row() {
    let strings = StringArray::from(vec![Some("ok"), None, Some("a\0b")]);
    let error = check_no_nul(&strings, "product_name", &origin()).expect_err("NUL");
    assert_eq!(
        error.to_string(),
        "f.parquet, row 2, column product_name: contains a NUL byte (at byte 1), which \
         PostgreSQL text cannot hold"
    );
    let clean = StringArray::from(vec![Some("ok"), None]);
    assert_eq!(check_no_nul(&clean, "product_name", &origin()), Ok(()));
}

#[test]
fn a_timestamp_before_postgres_range_is_refused_with_its_row() {
    let values = TimestampMicrosecondArray::from(vec![
        Some(0),
        None,
        Some(POSTGRES_MIN_TIMESTAMP_US),
        Some(POSTGRES_MIN_TIMESTAMP_US - 1),
    ]);
    let error = check_postgres_range(&values, "product_expire", &origin()).expect_err("range");
    assert_eq!(
        error.to_string(),
        "f.parquet, row 3, column product_expire: -210866803200000001 µs since 1970 is \
         before 4714-11-24 BC, the earliest TIMESTAMP PostgreSQL holds"
    );
}

#[test]
fn the_day_is_checked_first() {
    let error = check(vec![1440 * MINUTE], Some((0, 0))).expect_err("outside the day");
    assert!(
        error.ends_with("is outside the day being loaded (1970-01-01)"),
        "{error}"
    );
}
