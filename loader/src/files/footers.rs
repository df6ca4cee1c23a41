//! Checking each of a day's files (its footer: schema, row count, `create_at` statistics)
//! before any row is copied.

use std::fs::File;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use arrow_schema::Schema;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::basic::{ConvertedType, LogicalType, TimeUnit as ParquetTimeUnit};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::file::statistics::Statistics;
use sha2::{Digest, Sha256};

use crate::error::InputError;
use crate::files::object::SourceObject;
use crate::files::parquet_support;
use crate::warehouse::column_type::PgType;
use crate::warehouse::table::Table;

/// One source file that passed the schema check.
#[derive(Clone, Debug)]
pub(crate) struct SourceFile {
    pub path: PathBuf,
    pub rows: u64,
    pub bytes: u64,
    /// For each table column in table order, its index among the file's columns (`None`:
    /// the file lacks it, and it loads as NULL).
    pub projection: Vec<Option<usize>>,
    /// The smallest and largest value of the partition column the footer's statistics
    /// promise (a timestamp column's only), in µs since
    /// the Unix epoch; `None` when the file has no usable statistics (or no rows). Only a
    /// plan: every value is still checked against it while it is read.
    pub create_at_range: Option<(i64, i64)>,
    /// What the file was when it was checked; it must be the same when it is copied.
    pub fingerprint: Fingerprint,
    /// Where to read it when it is an object in a bucket (`path` then only names it).
    pub object: Option<SourceObject>,
}

/// A file's size, modification time and a hash of its footer: if any differs between the
/// check and the COPY, the file changed under the load (a copy or rsync still writing
/// it, a replacement), and its rows are not what was checked. The hash is SHA-256, stable
/// across builds, so that a fingerprint stored in the database (the API's file ledger)
/// still compares after an upgrade.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    bytes: u64,
    modified: Option<SystemTime>,
    footer_hash: [u8; 32],
}

impl Fingerprint {
    /// The file's size in bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The file's modification time, where the file system keeps one.
    pub fn modified(&self) -> Option<SystemTime> {
        self.modified
    }

    /// The footer's SHA-256, in hex (of nothing for a file too short to hold a footer).
    pub fn footer_hex(&self) -> String {
        use std::fmt::Write;
        self.footer_hash
            .iter()
            .fold(String::with_capacity(64), |mut hex, byte| {
                let _ = write!(hex, "{byte:02x}");
                hex
            })
    }

    /// An object's fingerprint, from its size, its last modification and its footer (the
    /// metadata bytes before the last 8), hashed as a file's is.
    pub(crate) fn of_object(bytes: u64, modified: SystemTime, footer: &[u8]) -> Self {
        Self {
            bytes,
            modified: Some(modified),
            footer_hash: Sha256::digest(footer).into(),
        }
    }

    /// Whether `whole`, an object's bytes as read for its COPY, is what was checked: the
    /// same size and footer (the read itself names the checked ETag).
    pub(crate) fn matches_bytes(&self, whole: &[u8]) -> bool {
        let footer = metadata_length(whole)
            .and_then(|length| footer_in(whole, length))
            .unwrap_or_default();
        whole.len() as u64 == self.bytes
            && <[u8; 32]>::from(Sha256::digest(footer)) == self.footer_hash
    }

    /// A fingerprint for plans built in unit tests, which read no file.
    #[cfg(test)]
    pub(crate) fn of_size(bytes: u64) -> Self {
        Self {
            bytes,
            modified: None,
            footer_hash: [0; 32],
        }
    }
}

/// The length of the footer's metadata, from the last 8 bytes of a file (or of its tail):
/// a 4-byte little-endian length, then `PAR1`.
pub(crate) fn metadata_length(tail: &[u8]) -> Option<u64> {
    let last = tail.get(tail.len().checked_sub(8)?..)?;
    (last[4..] == *b"PAR1")
        .then(|| u64::from(u32::from_le_bytes([last[0], last[1], last[2], last[3]])))
}

/// The footer's metadata bytes in `tail` (the last bytes of a file), when `tail` holds them
/// all.
pub(crate) fn footer_in(tail: &[u8], length: u64) -> Option<&[u8]> {
    let end = tail.len().checked_sub(8)?;
    let start = end.checked_sub(usize::try_from(length).ok()?)?;
    tail.get(start..end)
}

/// The fingerprint of an open file, read through the handle itself so that what is
/// fingerprinted is what will be read (a rename in between cannot swap the file).
pub(crate) fn fingerprint(file: &File) -> std::io::Result<Fingerprint> {
    let metadata = file.metadata()?;
    let bytes = metadata.len();
    // The footer is the last `length + 8` bytes: metadata, its 4-byte length, "PAR1". A
    // file too short to hold one hashes as empty; the Parquet reader then says why.
    let mut tail = [0u8; 8];
    let mut hasher = Sha256::new();
    if bytes >= 8 {
        file.read_exact_at(&mut tail, bytes - 8)?;
        let length = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
        if length + 8 <= bytes {
            let mut footer = vec![0u8; usize::try_from(length).unwrap_or(0)];
            file.read_exact_at(&mut footer, bytes - 8 - length)?;
            hasher.update(&footer);
        }
    }
    Ok(Fingerprint {
        bytes,
        modified: metadata.modified().ok(),
        footer_hash: hasher.finalize().into(),
    })
}

/// The fingerprint of the regular file at `path` (see [`Fingerprint`]).
pub fn fingerprint_file(path: &Path) -> Result<Fingerprint, InputError> {
    let file = open_regular(path)?;
    fingerprint(&file).map_err(|e| InputError::file(path, format!("cannot read: {e}")))
}

/// Opens a listed file for reading without ever blocking: opening a FIFO waits for a
/// writer, so a name that became a FIFO after it was listed would hang the load. Opened
/// non-blocking, anything that is not a regular file is refused at once. (The flag has
/// no effect on reads of a regular file.)
pub(crate) fn open_regular(path: &Path) -> Result<File, InputError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| InputError::file(path, format!("cannot open: {e}")))?;
    let metadata = file
        .metadata()
        .map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
    if !metadata.is_file() {
        return Err(InputError::file(
            path,
            "is no longer a regular file (it was replaced after it was listed); it is not read",
        ));
    }
    Ok(file)
}

/// Reads `path`'s footer and checks its columns against `table`'s (in any order), each of
/// an accepted type.
pub(crate) fn inspect(path: &Path, table: &Table) -> Result<SourceFile, InputError> {
    let file = open_regular(path)?;
    let fingerprint =
        fingerprint(&file).map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| parquet_support::unreadable(path, &e))?;
    source_file(
        path,
        table,
        builder.schema(),
        builder.metadata(),
        fingerprint,
    )
}

/// Checks an object's footer (its metadata bytes, read by the caller) as [`inspect`] checks
/// a file's.
pub(crate) fn check_footer(
    path: &Path,
    footer: &[u8],
    fingerprint: Fingerprint,
    mut object: SourceObject,
    table: &Table,
) -> Result<SourceFile, InputError> {
    let unreadable = |e: ParquetError| parquet_support::unreadable(path, &e);
    let metadata = ParquetMetaDataReader::decode_metadata(footer).map_err(unreadable)?;
    let arrow = ArrowReaderMetadata::try_new(Arc::new(metadata), ArrowReaderOptions::default())
        .map_err(unreadable)?;
    let file = source_file(path, table, arrow.schema(), arrow.metadata(), fingerprint)?;
    object.footer = Some(arrow);
    Ok(SourceFile {
        object: Some(object),
        ..file
    })
}

/// The Arrow schema of a footer's metadata bytes.
pub(crate) fn schema_of_footer(
    path: &Path,
    footer: &[u8],
) -> Result<arrow_schema::SchemaRef, InputError> {
    let unreadable = |e: ParquetError| parquet_support::unreadable(path, &e);
    let metadata = ParquetMetaDataReader::decode_metadata(footer).map_err(unreadable)?;
    let arrow = ArrowReaderMetadata::try_new(Arc::new(metadata), ArrowReaderOptions::default())
        .map_err(unreadable)?;
    Ok(Arc::clone(arrow.schema()))
}

/// The Arrow schema of the Parquet file at `path`.
pub(crate) fn schema_of_file(path: &Path) -> Result<arrow_schema::SchemaRef, InputError> {
    let file = open_regular(path)?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| parquet_support::unreadable(path, &e))?;
    Ok(Arc::clone(builder.schema()))
}

fn source_file(
    path: &Path,
    table: &Table,
    schema: &Schema,
    metadata: &ParquetMetaData,
    fingerprint: Fingerprint,
) -> Result<SourceFile, InputError> {
    let rows = u64::try_from(metadata.file_metadata().num_rows())
        .map_err(|_| InputError::file(path, "negative row count in the footer"))?;
    let in_this_file = |e: InputError| InputError {
        file: path.into(),
        ..e
    };
    let projection = check_schema(schema, table).map_err(in_this_file)?;
    parquet_support::check_chunks(metadata).map_err(in_this_file)?;
    Ok(SourceFile {
        path: path.to_path_buf(),
        rows,
        bytes: fingerprint.bytes,
        projection,
        create_at_range: partition_column_range(metadata, &table.partition_column().name),
        fingerprint,
        object: None,
    })
}

/// The range of the partition column over all row groups, from the footer's statistics,
/// in µs (widened outwards when the file's unit is finer). The unit is the Parquet
/// column's own: the embedded Arrow schema may ask for another one (pyarrow writes ns
/// timestamps as µs when told to, and says ns), but statistics are in the stored unit.
fn partition_column_range(metadata: &ParquetMetaData, column: &str) -> Option<(i64, i64)> {
    let (index, column) = metadata
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .enumerate()
        .find(|(_, c)| c.path().parts() == [column])?;
    let unit = match (column.logical_type_ref(), column.converted_type()) {
        (Some(LogicalType::Timestamp(timestamp)), _) => timestamp.unit,
        (None, ConvertedType::TIMESTAMP_MILLIS) => ParquetTimeUnit::MILLIS,
        (None, ConvertedType::TIMESTAMP_MICROS) => ParquetTimeUnit::MICROS,
        _ => return None,
    };
    let to_micros = |value: i64, round_up: bool| match unit {
        ParquetTimeUnit::MILLIS => value.checked_mul(1000),
        ParquetTimeUnit::MICROS => Some(value),
        ParquetTimeUnit::NANOS => {
            Some(value.div_euclid(1000) + i64::from(round_up && value.rem_euclid(1000) != 0))
        }
    };
    let mut range: Option<(i64, i64)> = None;
    for group in metadata.row_groups().iter().filter(|g| g.num_rows() > 0) {
        let Some(Statistics::Int64(stats)) = group.column(index).statistics() else {
            return None;
        };
        let min = to_micros(*stats.min_opt()?, false)?;
        let max = to_micros(*stats.max_opt()?, true)?;
        range = Some(range.map_or((min, max), |(lo, hi)| (lo.min(min), hi.max(max))));
    }
    range
}

/// Where each of `table`'s columns is among the file's, after checking them: no column
/// the table lacks, each one of a type that widens into the table's without loss, none
/// missing that the table needs (the sample needs all its columns; a declared dataset
/// reads a missing nullable column as NULL).
fn check_schema(schema: &Schema, table: &Table) -> Result<Vec<Option<usize>>, InputError> {
    let problem = |column: &str, reason: String| InputError::file("", reason).column(column);
    if let Some(extra) = schema
        .fields()
        .iter()
        .find(|f| !table.columns().iter().any(|c| &c.name == f.name()))
    {
        let names: Vec<&str> = table.columns().iter().map(|c| c.name.as_str()).collect();
        return Err(problem(
            extra.name(),
            format!(
                "unexpected column (type {}); the table has only {}",
                extra.data_type(),
                names.join(", ")
            ),
        ));
    }
    let mut projection = Vec::with_capacity(table.columns().len());
    for column in table.columns() {
        let Some((index, field)) = schema.column_with_name(&column.name) else {
            if column.not_null || table.is_sample() {
                return Err(problem(&column.name, "missing column".to_owned()));
            }
            projection.push(None);
            continue;
        };
        if !column.pg_type.accepts(field.data_type()) {
            let nested = if field.data_type().is_nested() {
                "a nested column: "
            } else {
                ""
            };
            return Err(problem(
                &column.name,
                format!(
                    "{nested}type {} is not accepted; expected {}",
                    field.data_type(),
                    describe(column.pg_type)
                ),
            ));
        }
        projection.push(Some(index));
    }
    Ok(projection)
}

/// What a column of type `kind` accepts, for messages.
fn describe(kind: PgType) -> String {
    match kind {
        PgType::Varchar { .. } | PgType::Text => {
            "a string (utf8, large_utf8, utf8_view or a dictionary of strings)".to_owned()
        }
        PgType::Timestamp => {
            "a timestamp without time zone in ns, us, ms or s (PostgreSQL TIMESTAMP)".to_owned()
        }
        other => format!("a type that widens into {other} without loss"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_fifo_is_refused_at_once_instead_of_waiting_for_a_writer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fifo = dir.path().join("2023-01-01 00:00:00.parquet");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        // On a thread: if the open blocked, the test fails after 5 s instead of hanging.
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || sender.send(open_regular(&fifo).map(|_| ())));
        let opened = receiver
            .recv_timeout(Duration::from_secs(5))
            .expect("the open returned");
        let error = opened.expect_err("a FIFO is refused");
        assert!(
            error.to_string().contains("no longer a regular file"),
            "{error}"
        );
    }
}
