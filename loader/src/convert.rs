//! Turning a decoded Parquet batch into rows PostgreSQL accepts, or saying precisely why not.
//!
//! Every accepted input type is normalised to the one shape the COPY encoder is built for
//! (utf8 strings, microsecond timestamps), and every value the table would reject or
//! silently change is refused here, with its row and column, before it reaches the server.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, NaiveDateTime};

use crate::error::InputError;
use crate::table::{COLUMNS, Kind};

/// The schema every normalised batch has, and the COPY encoder is built for.
pub(crate) fn copy_schema() -> SchemaRef {
    let fields: Vec<Field> = COLUMNS
        .iter()
        .map(|&(name, kind)| {
            let data_type = match kind {
                Kind::Text { .. } => DataType::Utf8,
                Kind::Timestamp { .. } => DataType::Timestamp(TimeUnit::Microsecond, None),
            };
            Field::new(name, data_type, true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// The half-open range `[start, end)` of `create_at` values a day accepts, in µs since
/// the Unix epoch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DayBounds {
    pub start_us: i64,
    pub end_us: i64,
}

impl DayBounds {
    pub fn new(start: NaiveDateTime, end: NaiveDateTime) -> Self {
        Self {
            start_us: start.and_utc().timestamp_micros(),
            end_us: end.and_utc().timestamp_micros(),
        }
    }
}

/// A batch of one file, for error messages: which file, and the row number of its
/// first row within that file.
pub(crate) struct BatchOrigin<'a> {
    pub file: &'a std::path::Path,
    pub first_row: u64,
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
    bounds: DayBounds,
    origin: &BatchOrigin<'_>,
) -> Result<RecordBatch, InputError> {
    let mut columns = Vec::with_capacity(COLUMNS.len());
    for (&index, &(name, kind)) in projection.iter().zip(COLUMNS.iter()) {
        let column = batch.column(index);
        let normalised = match kind {
            Kind::Text { max_chars } => text(column, name, max_chars, origin)?,
            Kind::Timestamp { required } => {
                let micros = timestamp_micros(column, name, origin)?;
                if required {
                    check_within_day(&micros, name, bounds, origin)?;
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
        other => Err(
            InputError::file(origin.file, format!("type {other} is not a timestamp")).column(name),
        ),
    }
}

fn check_within_day(
    micros: &TimestampMicrosecondArray,
    name: &str,
    bounds: DayBounds,
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
                let at = DateTime::from_timestamp_micros(us).map(|t| t.naive_utc());
                let day = DateTime::from_timestamp_micros(bounds.start_us).map(|t| t.date_naive());
                return Err(origin.error(
                    name,
                    row,
                    format!(
                        "{} is outside the day being loaded ({})",
                        at.map_or_else(|| us.to_string(), |t| t.to_string()),
                        day.map_or_else(String::new, |d| d.to_string())
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}
