//! The reference files' schema and the metadata pandas needs to read them back with the
//! reference dtypes (`object` strings, `datetime64[ns]` timestamps, a RangeIndex).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde_json::{Value, json};

/// Column names in file order.
pub const COLUMNS: [&str; 5] = [
    "department_name",
    "sensor_serial",
    "create_at",
    "product_name",
    "product_expire",
];

/// The key under which pandas stores its metadata in Arrow and Parquet files.
pub const PANDAS_METADATA_KEY: &str = "pandas";

fn is_timestamp(column: &str) -> bool {
    column == "create_at" || column == "product_expire"
}

/// The reference schema for files of `rows` rows (pandas records the RangeIndex length).
pub fn reference_schema(rows: usize) -> SchemaRef {
    let fields: Vec<Field> = COLUMNS
        .iter()
        .map(|&name| {
            let data_type = if is_timestamp(name) {
                DataType::Timestamp(TimeUnit::Nanosecond, None)
            } else {
                DataType::Utf8
            };
            // pandas writes every column as nullable ("optional" in Parquet).
            Field::new(name, data_type, true)
        })
        .collect();
    let metadata = HashMap::from([(
        PANDAS_METADATA_KEY.to_owned(),
        pandas_metadata(rows).to_string(),
    )]);
    Arc::new(Schema::new_with_metadata(fields, metadata))
}

/// The `pandas` metadata document pyarrow writes for a DataFrame with a default index.
pub fn pandas_metadata(rows: usize) -> Value {
    let columns: Vec<Value> = COLUMNS
        .iter()
        .map(|&name| {
            let (pandas_type, numpy_type) = if is_timestamp(name) {
                ("datetime", "datetime64[ns]")
            } else {
                ("unicode", "object")
            };
            json!({
                "name": name,
                "field_name": name,
                "pandas_type": pandas_type,
                "numpy_type": numpy_type,
                "metadata": null,
            })
        })
        .collect();
    json!({
        "index_columns": [{"kind": "range", "name": null, "start": 0, "stop": rows, "step": 1}],
        "column_indexes": [{
            "name": null,
            "field_name": null,
            "pandas_type": "unicode",
            "numpy_type": "object",
            "metadata": {"encoding": "UTF-8"},
        }],
        "columns": columns,
        "attributes": {},
        "creator": {"library": "dwh-loader-generator", "version": env!("CARGO_PKG_VERSION")},
        // The metadata layout version pandas readers understand, as in the reference files.
        "pandas_version": "1.5.3",
    })
}
