//! Turning a decoded Parquet batch into rows PostgreSQL accepts, or saying precisely why not.
//!
//! Every accepted input type is normalised to the one Arrow type the COPY encoder writes
//! for the column's PostgreSQL type (utf8 strings, microsecond timestamps, int64 for a
//! bigint, …; [`PgType::copy_arrow_type`]), and every value the table would reject or
//! silently change is refused here, with its row and column, before it reaches the server.

mod json;
mod timestamps;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Date32Type;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, new_null_array};
use arrow_cast::CastOptions;
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::error::InputError;
use crate::warehouse::column_type::PgType;
use crate::warehouse::day::TimeRange;
use crate::warehouse::table::{Column, Table};

use timestamps::{check_postgres_range, check_within_day, time_micros, timestamp_micros};

/// The schema every normalised batch of `table` has, and the COPY encoder is built for.
pub(crate) fn copy_schema(table: &Table) -> SchemaRef {
    let fields: Vec<Field> = table
        .columns()
        .iter()
        .map(|column| Field::new(&column.name, column.pg_type.copy_arrow_type(), true))
        .collect();
    Arc::new(Schema::new(fields))
}

/// A batch of one file, for error messages: which file, and the row number of its
/// first row within that file.
pub(crate) struct BatchOrigin<'a> {
    pub file: &'a std::path::Path,
    pub first_row: u64,
    /// The file's range of the partition column according to its footer, which planned
    /// where its rows go: a value outside it would land in the wrong part of the day.
    pub promised: Option<(i64, i64)>,
}

impl BatchOrigin<'_> {
    fn error(&self, column: &str, row: usize, reason: String) -> InputError {
        InputError::file(self.file, reason)
            .column(column)
            .row(self.first_row + row as u64)
    }
}

/// What a batch is normalised against: the table's columns, where each is in the file
/// (`None`: the file lacks it, and it loads as NULL), the schema of the result and the
/// day's bounds.
pub(crate) struct Target<'a> {
    pub table: &'a Table,
    pub projection: &'a [Option<usize>],
    pub schema: &'a SchemaRef,
    pub bounds: TimeRange,
}

/// Reorders `batch`'s columns into table order and normalises each one.
pub(crate) fn normalise(
    batch: &RecordBatch,
    target: &Target<'_>,
    origin: &BatchOrigin<'_>,
) -> Result<RecordBatch, InputError> {
    let partition = target.table.partition_index();
    let mut columns = Vec::with_capacity(target.projection.len());
    for (position, (index, column)) in target
        .projection
        .iter()
        .zip(target.table.columns())
        .enumerate()
    {
        let normalised = match index {
            Some(index) => {
                let within_day = (position == partition).then_some(target.bounds);
                one_column(batch.column(*index), column, within_day, origin)?
            }
            None => new_null_array(&column.pg_type.copy_arrow_type(), batch.num_rows()),
        };
        columns.push(normalised);
    }
    RecordBatch::try_new(Arc::clone(target.schema), columns)
        .map_err(|e| InputError::file(origin.file, format!("internal: {e}")))
}

/// One column normalised to its COPY type; `within_day`: it partitions the table, and
/// every value must lie in the day.
fn one_column(
    input: &ArrayRef,
    column: &Column,
    within_day: Option<TimeRange>,
    origin: &BatchOrigin<'_>,
) -> Result<ArrayRef, InputError> {
    let name = column.name.as_str();
    let normalised = match column.pg_type {
        PgType::Varchar { max_chars } => text(input, name, Some(max_chars), origin)?,
        PgType::Text => text(input, name, None, origin)?,
        PgType::Timestamp | PgType::Timestamptz => {
            let micros = timestamp_micros(input, name, origin)?;
            match within_day {
                Some(bounds) => check_within_day(&micros, name, bounds, origin)?,
                None => check_postgres_range(&micros, name, origin)?,
            }
            if column.pg_type == PgType::Timestamptz {
                Arc::new(micros.with_timezone("UTC")) as ArrayRef
            } else {
                Arc::new(micros) as ArrayRef
            }
        }
        PgType::Time => time_micros(input, name, origin)?,
        PgType::Jsonb => {
            let json = json::to_json(input, name, origin)?;
            check_no_nul(json.as_string::<i32>(), name, origin)?;
            json
        }
        other => {
            let cast = widen(input, other.copy_arrow_type(), name, origin)?;
            if let Some(bounds) = within_day {
                check_date_within_day(&cast, name, bounds, origin)?;
            }
            cast
        }
    };
    if column.not_null && normalised.null_count() > 0 {
        let row = (0..normalised.len())
            .find(|&row| normalised.is_null(row))
            .unwrap_or_default();
        return Err(origin.error(name, row, "is null, but the column is NOT NULL".to_owned()));
    }
    Ok(normalised)
}

/// Casts `input` to `to`, a type the schema check found it widens into without loss;
/// the cast is strict, so a value that would not fit fails instead of becoming NULL.
fn widen(
    input: &ArrayRef,
    to: DataType,
    name: &str,
    origin: &BatchOrigin<'_>,
) -> Result<ArrayRef, InputError> {
    if input.data_type() == &to {
        return Ok(Arc::clone(input));
    }
    let strict = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    arrow_cast::cast_with_options(input, &to, &strict).map_err(|e| {
        InputError::file(
            origin.file,
            format!("cannot convert {} to {to}: {e}", input.data_type()),
        )
        .column(name)
    })
}

/// A `date` partition column: every value is the day being loaded.
fn check_date_within_day(
    dates: &ArrayRef,
    name: &str,
    bounds: TimeRange,
    origin: &BatchOrigin<'_>,
) -> Result<(), InputError> {
    const MICROS_PER_DAY: i64 = 86_400_000_000;
    let day = bounds.start_us.div_euclid(MICROS_PER_DAY);
    let values = dates.as_primitive::<Date32Type>();
    for (row, value) in values.iter().enumerate() {
        match value {
            None => {
                return Err(origin.error(name, row, "is null; every row needs a date".to_owned()));
            }
            Some(d) if i64::from(d) != day => {
                let shown = chrono::NaiveDate::from_epoch_days(d)
                    .map_or_else(|| d.to_string(), |d| d.to_string());
                return Err(origin.error(
                    name,
                    row,
                    format!(
                        "{shown} is outside the day being loaded ({})",
                        bounds.describe()
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn text(
    column: &ArrayRef,
    name: &str,
    max_chars: Option<usize>,
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
    let Some(max_chars) = max_chars else {
        return Ok(utf8);
    };
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

#[cfg(test)]
mod tests;
