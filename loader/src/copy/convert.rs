//! Turning a decoded Parquet batch into rows PostgreSQL accepts, or saying precisely why not.
//!
//! Every accepted input type is normalised to the one shape the COPY encoder is built for
//! (utf8 strings, microsecond timestamps), and every value the table would reject or
//! silently change is refused here, with its row and column, before it reaches the server.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::DateTime;

use crate::error::InputError;
use crate::warehouse::day::TimeRange;
use crate::warehouse::table::{COLUMNS, ColumnType};

/// The schema every normalised batch has, and the COPY encoder is built for.
pub(crate) fn copy_schema() -> SchemaRef {
    let fields: Vec<Field> = COLUMNS
        .iter()
        .map(|&(name, kind)| {
            let data_type = match kind {
                ColumnType::Varchar { .. } => DataType::Utf8,
                ColumnType::Timestamp { .. } => DataType::Timestamp(TimeUnit::Microsecond, None),
            };
            Field::new(name, data_type, true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// A batch of one file, for error messages: which file, and the row number of its
/// first row within that file.
pub(crate) struct BatchOrigin<'a> {
    pub file: &'a std::path::Path,
    pub first_row: u64,
    /// The file's `create_at` range according to its footer, which planned where its rows
    /// go: a value outside it would land in the wrong part of the day.
    pub promised: Option<(i64, i64)>,
}

impl BatchOrigin<'_> {
    fn error(&self, column: &str, row: usize, reason: String) -> InputError {
        InputError::file(self.file, reason)
            .column(column)
            .row(self.first_row + row as u64)
    }
}

/// Reorders `batch`'s columns into table order (`projection`) and normalises each one.
pub(crate) fn normalise(
    batch: &RecordBatch,
    projection: &[usize; COLUMNS.len()],
    schema: &SchemaRef,
    bounds: TimeRange,
    origin: &BatchOrigin<'_>,
) -> Result<RecordBatch, InputError> {
    let mut columns = Vec::with_capacity(COLUMNS.len());
    for (&index, &(name, kind)) in projection.iter().zip(COLUMNS.iter()) {
        let column = batch.column(index);
        let normalised = match kind {
            ColumnType::Varchar { max_chars } => text(column, name, max_chars, origin)?,
            ColumnType::Timestamp { required } => {
                let micros = timestamp_micros(column, name, origin)?;
                if required {
                    check_within_day(&micros, name, bounds, origin)?;
                } else {
                    check_postgres_range(&micros, name, origin)?;
                }
                Arc::new(micros) as ArrayRef
            }
        };
        columns.push(normalised);
    }
    RecordBatch::try_new(Arc::clone(schema), columns)
        .map_err(|e| InputError::file(origin.file, format!("internal: {e}")))
}

fn text(
    column: &ArrayRef,
    name: &str,
    max_chars: usize,
    origin: &BatchOrigin<'_>,
) -> Result<ArrayRef, InputError> {
    let utf8: ArrayRef = if column.data_type() == &DataType::Utf8 {
        Arc::clone(column)
    } else {
        arrow_cast::cast(column, &DataType::Utf8).map_err(|e| {
            InputError::file(origin.file, format!("cannot read strings: {e}")).column(name)
        })?
    };
    let strings: &StringArray = utf8.as_string::<i32>();
    check_no_nul(strings, name, origin)?;
    for (row, value) in strings.iter().enumerate() {
        // Byte length bounds character count from above, so most values need no counting.
        if let Some(value) = value.filter(|v| v.len() > max_chars) {
            let chars = value.chars().count();
            if chars > max_chars {
                return Err(origin.error(
                    name,
                    row,
                    format!("value of {chars} characters is longer than VARCHAR({max_chars})"),
                ));
            }
        }
    }
    Ok(utf8)
}

/// PostgreSQL's text types cannot hold a NUL byte (COPY would fail the whole load with an
/// encoding error naming neither file nor row). One scan of the batch's bytes finds out;
/// only then are the rows looked at.
fn check_no_nul(
    strings: &StringArray,
    name: &str,
    origin: &BatchOrigin<'_>,
) -> Result<(), InputError> {
    if !strings.values().contains(&0) {
        return Ok(());
    }
    for (row, value) in strings.iter().enumerate() {
        if let Some(at) = value.and_then(|v| v.find('\0')) {
            return Err(origin.error(
                name,
                row,
                format!("contains a NUL byte (at byte {at}), which PostgreSQL text cannot hold"),
            ));
        }
    }
    Ok(()) // the byte was in a null slot's unused storage
}

/// The earliest TIMESTAMP PostgreSQL holds, 4714-11-24 BC 00:00, in µs since the Unix
/// epoch (its `MIN_TIMESTAMP`, which counts from 2000-01-01). Every i64 of microseconds is
/// below its upper limit (294277 AD).
const POSTGRES_MIN_TIMESTAMP_US: i64 = -211_813_488_000_000_000 + 946_684_800_000_000;

/// A timestamp PostgreSQL cannot hold would fail COPY with "timestamp out of range",
/// naming neither file nor row; it is refused here instead.
fn check_postgres_range(
    micros: &TimestampMicrosecondArray,
    name: &str,
    origin: &BatchOrigin<'_>,
) -> Result<(), InputError> {
    match micros
        .iter()
        .position(|v| v.is_some_and(|us| us < POSTGRES_MIN_TIMESTAMP_US))
    {
        None => Ok(()),
        Some(row) => Err(origin.error(
            name,
            row,
            format!(
                "{} µs since 1970 is before 4714-11-24 BC, the earliest TIMESTAMP PostgreSQL \
                 holds",
                micros.value(row)
            ),
        )),
    }
}

/// Converts any accepted timestamp unit to microseconds, PostgreSQL's precision. A value
/// that would lose precision (sub-microsecond nanoseconds) or overflow is refused.
fn timestamp_micros(
    column: &ArrayRef,
    name: &str,
    origin: &BatchOrigin<'_>,
) -> Result<TimestampMicrosecondArray, InputError> {
    let nulls = column.logical_nulls();
    let is_valid = |row: usize| nulls.as_ref().is_none_or(|n| n.is_valid(row));
    let convert = |values: &[i64], to_micros: &dyn Fn(i64) -> Option<i64>, what: &str| {
        let mut micros = Vec::with_capacity(values.len());
        for (row, &value) in values.iter().enumerate() {
            match to_micros(value) {
                Some(us) => micros.push(us),
                None if !is_valid(row) => micros.push(0),
                None => {
                    return Err(origin.error(name, row, format!("{what} value {value} {}", match what {
                        "nanosecond" => "has sub-microsecond precision, which PostgreSQL TIMESTAMP cannot hold",
                        _ => "is out of range",
                    })));
                }
            }
        }
        Ok(TimestampMicrosecondArray::new(micros.into(), nulls.clone()))
    };
    match column.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, None) => {
            Ok(column.as_primitive::<TimestampMicrosecondType>().clone())
        }
        DataType::Timestamp(TimeUnit::Nanosecond, None) => convert(
            column.as_primitive::<TimestampNanosecondType>().values(),
            &|ns| (ns % 1000 == 0).then_some(ns / 1000),
            "nanosecond",
        ),
        DataType::Timestamp(TimeUnit::Millisecond, None) => convert(
            column.as_primitive::<TimestampMillisecondType>().values(),
            &|ms| ms.checked_mul(1000),
            "millisecond",
        ),
        // Parquet has no unit of seconds: pyarrow stores `timestamp[s]` as milliseconds and
        // records the unit in its embedded Arrow schema, which the reader then follows.
        DataType::Timestamp(TimeUnit::Second, None) => convert(
            column.as_primitive::<TimestampSecondType>().values(),
            &|s| s.checked_mul(1_000_000),
            "second",
        ),
        other => Err(
            InputError::file(origin.file, format!("type {other} is not a timestamp")).column(name),
        ),
    }
}

fn check_within_day(
    micros: &TimestampMicrosecondArray,
    name: &str,
    bounds: TimeRange,
    origin: &BatchOrigin<'_>,
) -> Result<(), InputError> {
    for (row, value) in micros.iter().enumerate() {
        match value {
            None => {
                return Err(origin.error(
                    name,
                    row,
                    "is null; every row needs a timestamp".to_owned(),
                ));
            }
            Some(us) if us < bounds.start_us || us >= bounds.end_us => {
                return Err(origin.error(
                    name,
                    row,
                    format!(
                        "{} is outside the day being loaded ({})",
                        show_micros(us),
                        bounds.start().date()
                    ),
                ));
            }
            Some(us) => {
                if let Some((low, high)) = origin.promised.filter(|&(l, h)| us < l || us > h) {
                    return Err(origin.error(
                        name,
                        row,
                        format!(
                            "{} lies outside {} … {}, the range the file's footer statistics \
                             give for this column: the footer does not match the data",
                            show_micros(us),
                            show_micros(low),
                            show_micros(high)
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// `us` as a timestamp for messages, or the bare number when it is beyond chrono's range.
fn show_micros(us: i64) -> String {
    DateTime::from_timestamp_micros(us)
        .map_or_else(|| us.to_string(), |t| t.naive_utc().to_string())
}

#[cfg(test)]
mod tests {
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
}
