//! Encoding one minute as a Parquet file laid out like the reference's, and writing it so
//! that no reader ever sees a partial file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};

use crate::schema::PANDAS_METADATA_KEY;

/// Suffix of in-progress files; they never match `*.parquet`.
pub const TEMP_SUFFIX: &str = ".tmp";

/// Writer settings that match the reference files: format 2.x (RLE_DICTIONARY), SNAPPY,
/// dictionary pages, chunk statistics, one row group, and the pandas key-value metadata.
pub fn writer_properties(batch: &RecordBatch) -> WriterProperties {
    let pandas = batch.schema().metadata().get(PANDAS_METADATA_KEY).cloned();
    WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_2_0)
        .set_compression(Compression::SNAPPY)
        .set_dictionary_enabled(true)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_max_row_group_row_count(Some(batch.num_rows().max(1)))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            PANDAS_METADATA_KEY.to_owned(),
            pandas,
        )]))
        .build()
}

/// Encodes `batch` as one complete Parquet file in memory.
pub fn encode(batch: &RecordBatch, capacity_hint: usize) -> Result<Vec<u8>, ParquetError> {
    let buffer = Vec::with_capacity(capacity_hint);
    let options = ArrowWriterOptions::new()
        .with_properties(writer_properties(batch))
        // pyarrow names the Parquet root "schema"; parquet-rs would say "arrow_schema".
        .with_schema_root("schema".to_owned());
    let mut writer = ArrowWriter::try_new_with_options(buffer, batch.schema(), options)?;
    writer.write(batch)?;
    writer.into_inner()
}

/// Writes `bytes` to `dir/name` through a temporary file in the same directory and a
/// rename, so the final name only ever holds a complete file. On failure the temporary
/// file is removed.
pub fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let target = dir.join(name);
    let temp = dir.join(format!(".{name}.{}{TEMP_SUFFIX}", std::process::id()));
    let result = fs::File::create(&temp)
        .and_then(|mut file| file.write_all(bytes))
        .and_then(|()| fs::rename(&temp, &target));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map(|()| target)
}

/// Removes in-progress files left in `dir` by a run that was killed.
pub fn remove_stale_temp_files(dir: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.contains(".parquet.") && name.ends_with(TEMP_SUFFIX) {
            fs::remove_file(dir.join(name.as_ref()))?;
            removed += 1;
        }
    }
    Ok(removed)
}
