//! Timestamps and times: any unit to microseconds (PostgreSQL's precision), refusing a
//! value that would lose precision, overflow, fall outside PostgreSQL's range or outside
//! the day being loaded.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Time32MillisecondType, Time32SecondType, Time64MicrosecondType, Time64NanosecondType,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use arrow_array::{Array, ArrayRef, Time64MicrosecondArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, TimeUnit};
use chrono::DateTime;

use super::BatchOrigin;
use crate::error::InputError;
use crate::warehouse::day::TimeRange;

/// The earliest TIMESTAMP PostgreSQL holds, 4714-11-24 BC 00:00, in µs since the Unix
/// epoch (its `MIN_TIMESTAMP`, which counts from 2000-01-01). Every i64 of microseconds is
/// below its upper limit (294277 AD).
pub(super) const POSTGRES_MIN_TIMESTAMP_US: i64 = -211_813_488_000_000_000 + 946_684_800_000_000;

/// A timestamp PostgreSQL cannot hold would fail COPY with "timestamp out of range",
/// naming neither file nor row; it is refused here instead.
pub(super) fn check_postgres_range(
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
pub(super) fn timestamp_micros(
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
        DataType::Timestamp(TimeUnit::Microsecond, _) => Ok(column
            .as_primitive::<TimestampMicrosecondType>()
            .clone()
            .with_timezone_opt(None::<String>)),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => convert(
            column.as_primitive::<TimestampNanosecondType>().values(),
            &|ns| (ns % 1000 == 0).then_some(ns / 1000),
            "nanosecond",
        ),
        DataType::Timestamp(TimeUnit::Millisecond, _) => convert(
            column.as_primitive::<TimestampMillisecondType>().values(),
            &|ms| ms.checked_mul(1000),
            "millisecond",
        ),
        // Parquet has no unit of seconds: pyarrow stores `timestamp[s]` as milliseconds and
        // records the unit in its embedded Arrow schema, which the reader then follows.
        DataType::Timestamp(TimeUnit::Second, _) => convert(
            column.as_primitive::<TimestampSecondType>().values(),
            &|s| s.checked_mul(1_000_000),
            "second",
        ),
        other => Err(
            InputError::file(origin.file, format!("type {other} is not a timestamp")).column(name),
        ),
    }
}

pub(super) fn check_within_day(
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
                        bounds.describe()
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

/// A time of day in microseconds (PostgreSQL's `time`); nanoseconds below a microsecond
/// are refused rather than cut.
pub(super) fn time_micros(
    column: &ArrayRef,
    name: &str,
    origin: &BatchOrigin<'_>,
) -> Result<ArrayRef, InputError> {
    let nulls = column.logical_nulls();
    let micros: Vec<i64> = match column.data_type() {
        DataType::Time64(TimeUnit::Microsecond) => {
            return Ok(std::sync::Arc::new(
                column.as_primitive::<Time64MicrosecondType>().clone(),
            ));
        }
        DataType::Time64(_) => {
            let values = column.as_primitive::<Time64NanosecondType>().values();
            if let Some(row) = values.iter().enumerate().position(|(row, ns)| {
                ns % 1000 != 0 && nulls.as_ref().is_none_or(|n| n.is_valid(row))
            }) {
                return Err(origin.error(
                    name,
                    row,
                    format!(
                        "nanosecond value {} has sub-microsecond precision, which PostgreSQL \
                         TIME cannot hold",
                        values[row]
                    ),
                ));
            }
            values.iter().map(|ns| ns / 1000).collect()
        }
        DataType::Time32(TimeUnit::Millisecond) => {
            let values = column.as_primitive::<Time32MillisecondType>().values();
            values.iter().map(|&ms| i64::from(ms) * 1000).collect()
        }
        DataType::Time32(_) => {
            let values = column.as_primitive::<Time32SecondType>().values();
            values.iter().map(|&s| i64::from(s) * 1_000_000).collect()
        }
        other => {
            return Err(
                InputError::file(origin.file, format!("type {other} is not a time")).column(name),
            );
        }
    };
    Ok(std::sync::Arc::new(Time64MicrosecondArray::new(
        micros.into(),
        nulls,
    )))
}
