//! A `jsonb` column: a nested Parquet column (list, struct, map) written as JSON by
//! `arrow-json`, or a string column that must already hold JSON.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, StringArray};
use arrow_json::writer::{EncoderOptions, make_encoder};
use arrow_schema::{DataType, Field};

use super::BatchOrigin;
use crate::error::InputError;

/// The column's values as JSON text, one per row (null stays null). A string that is not
/// JSON is refused with its row: COPY would fail the whole load naming neither.
pub(super) fn to_json(
    input: &ArrayRef,
    name: &str,
    origin: &BatchOrigin<'_>,
) -> Result<ArrayRef, InputError> {
    if matches!(
        input.data_type(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    ) {
        let text = arrow_cast::cast(input, &DataType::Utf8).map_err(|e| {
            InputError::file(origin.file, format!("cannot read strings: {e}")).column(name)
        })?;
        check_json(text.as_string::<i32>(), name, origin)?;
        return Ok(text);
    }
    let field = Arc::new(Field::new(name, input.data_type().clone(), true));
    let options = EncoderOptions::default();
    let mut encoder = make_encoder(&field, input.as_ref(), &options).map_err(|e| {
        InputError::file(
            origin.file,
            format!("cannot write {} as JSON: {e}", input.data_type()),
        )
        .column(name)
    })?;
    let mut out = Vec::new();
    let values: StringArray = (0..input.len())
        .map(|row| {
            if input.is_null(row) {
                return Ok(None);
            }
            out.clear();
            encoder.encode(row, &mut out);
            String::from_utf8(out.clone()).map(Some).map_err(|e| {
                origin.error(name, row, format!("JSON of the value is not UTF-8: {e}"))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Arc::new(values))
}

fn check_json(
    strings: &StringArray,
    name: &str,
    origin: &BatchOrigin<'_>,
) -> Result<(), InputError> {
    for (row, value) in strings.iter().enumerate() {
        if let Some(text) = value
            && let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(text)
        {
            return Err(origin.error(name, row, format!("is not JSON ({error}), as jsonb needs")));
        }
    }
    Ok(())
}
