//! Finding a day's files and checking each one's schema before any row is copied.

use std::collections::BTreeSet;
use std::fs::{DirEntry, File};
use std::path::{Path, PathBuf};

use arrow_schema::{DataType, Schema, TimeUnit};
use chrono::NaiveDate;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{ConvertedType, LogicalType, TimeUnit as ParquetTimeUnit};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::statistics::Statistics;

use crate::error::{InputError, LoadError};
use crate::table::{COLUMNS, ColumnType, PARTITION_COLUMN};

/// One source file that passed the schema check.
#[derive(Clone, Debug)]
pub(crate) struct SourceFile {
    pub path: PathBuf,
    pub rows: u64,
    pub bytes: u64,
    /// For each table column in table order, its index among the file's columns.
    pub projection: [usize; COLUMNS.len()],
    /// The smallest and largest `create_at` the footer's statistics promise, in µs since
    /// the Unix epoch; `None` when the file has no usable statistics (or no rows). Only a
    /// plan: every value is still checked against it while it is read.
    pub create_at_range: Option<(i64, i64)>,
}

/// The files of `date` in `dir`: those named `YYYY-MM-DD *.parquet`, sorted by name (that
/// is, by minute). An empty list is an error: the day would otherwise be emptied.
pub fn files_for_day(dir: &Path, date: NaiveDate) -> Result<Vec<PathBuf>, LoadError> {
    let wanted = date.format("%Y-%m-%d").to_string();
    let mut files = Vec::new();
    for_each_source(dir, |day, entry| {
        if day == wanted {
            files.push(entry.path());
        }
    })?;
    if files.is_empty() {
        return Err(LoadError::NoSourceFiles {
            date,
            dir: dir.to_path_buf(),
        });
    }
    files.sort();
    Ok(files)
}

/// The days that have files in `dir`, from one listing of it: a range of days asks this
/// once rather than listing the directory (tens of thousands of files) per day.
pub fn days_with_files(dir: &Path) -> Result<BTreeSet<NaiveDate>, LoadError> {
    let mut spelled = BTreeSet::new();
    for_each_source(dir, |day, _| {
        if !spelled.contains(day) {
            spelled.insert(day.to_owned());
        }
    })?;
    // Only the zero-padded spelling counts, as in `files_for_day`.
    Ok(spelled
        .iter()
        .filter_map(|day| {
            let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
            (date.format("%Y-%m-%d").to_string() == *day).then_some(date)
        })
        .collect())
}

/// Calls `each` with the day part (`YYYY-MM-DD`) and the entry of every file of `dir`
/// named `YYYY-MM-DD *.parquet`. The day part is not parsed: comparing text keeps a
/// listing of a month's 43,201 files cheap.
fn for_each_source(dir: &Path, mut each: impl FnMut(&str, &DirEntry)) -> Result<(), LoadError> {
    let unreadable = |source| LoadError::SourceDir {
        dir: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some((day, rest)) = name.split_at_checked(10)
            && rest.starts_with(' ')
            && name.ends_with(".parquet")
        {
            each(day, &entry);
        }
    }
    Ok(())
}

/// Reads `path`'s footer and checks its columns: exactly the table's columns (in any
/// order), each of an accepted type.
pub(crate) fn inspect(path: &Path) -> Result<SourceFile, InputError> {
    let file = File::open(path).map_err(|e| InputError::file(path, format!("cannot open: {e}")))?;
    let bytes = file
        .metadata()
        .map_err(|e| InputError::file(path, format!("cannot stat: {e}")))?
        .len();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| InputError::file(path, format!("not a readable Parquet file: {e}")))?;
    let rows = u64::try_from(builder.metadata().file_metadata().num_rows())
        .map_err(|_| InputError::file(path, "negative row count in the footer"))?;
    let projection = check_schema(builder.schema()).map_err(|e| InputError {
        file: path.into(),
        ..e
    })?;
    let create_at_range = partition_column_range(builder.metadata());
    Ok(SourceFile {
        path: path.to_path_buf(),
        rows,
        bytes,
        projection,
        create_at_range,
    })
}

/// The range of the partition column over all row groups, from the footer's statistics,
/// in µs (widened outwards when the file's unit is finer). The unit is the Parquet
/// column's own: the embedded Arrow schema may ask for another one (pyarrow writes ns
/// timestamps as µs when told to, and says ns), but statistics are in the stored unit.
fn partition_column_range(metadata: &ParquetMetaData) -> Option<(i64, i64)> {
    let (index, column) = metadata
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .enumerate()
        .find(|(_, c)| c.path().parts() == [PARTITION_COLUMN])?;
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

fn check_schema(schema: &Schema) -> Result<[usize; COLUMNS.len()], InputError> {
    let problem = |column: &str, reason: String| InputError::file("", reason).column(column);
    if let Some(extra) = schema
        .fields()
        .iter()
        .find(|f| !COLUMNS.iter().any(|(name, _)| name == f.name()))
    {
        return Err(problem(
            extra.name(),
            format!(
                "unexpected column (type {}); the table has only {}",
                extra.data_type(),
                COLUMNS.map(|(n, _)| n).join(", ")
            ),
        ));
    }
    let mut projection = [0; COLUMNS.len()];
    for (slot, (name, kind)) in projection.iter_mut().zip(COLUMNS) {
        let (index, field) = schema
            .column_with_name(name)
            .ok_or_else(|| problem(name, "missing column".to_owned()))?;
        if !accepts(kind, field.data_type()) {
            return Err(problem(
                name,
                format!(
                    "type {} is not accepted; expected {}",
                    field.data_type(),
                    describe(kind)
                ),
            ));
        }
        *slot = index;
    }
    Ok(projection)
}

/// Whether a column of Arrow type `data_type` can be loaded into a column of `kind`.
pub(crate) fn accepts(kind: ColumnType, data_type: &DataType) -> bool {
    match kind {
        ColumnType::Varchar { .. } => match data_type {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
            DataType::Dictionary(_, values) => {
                matches!(values.as_ref(), DataType::Utf8 | DataType::LargeUtf8)
            }
            _ => false,
        },
        ColumnType::Timestamp { .. } => matches!(
            data_type,
            DataType::Timestamp(
                TimeUnit::Nanosecond | TimeUnit::Microsecond | TimeUnit::Millisecond,
                None
            )
        ),
    }
}

fn describe(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Varchar { .. } => "a string (utf8, large_utf8 or dictionary of strings)",
        ColumnType::Timestamp { .. } => {
            "a timestamp without time zone in ns, us or ms (PostgreSQL TIMESTAMP)"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    /// A directory holding empty files with these names.
    fn dir_of(names: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("dir");
        for name in names {
            File::create(dir.path().join(name)).expect("file");
        }
        dir
    }

    const NAMES: [&str; 7] = [
        "2023-01-01 00:01:00.parquet",
        "2023-01-01 00:00:00.parquet",
        "2023-01-03 12:00:00.parquet",
        "2023-1-02 00:00:00.parquet",
        "2023-01-04.parquet",
        "2023-01-05 00:00:00.csv",
        "notes.txt",
    ];

    #[test]
    fn a_days_files_are_the_ones_named_after_it_in_minute_order() {
        let dir = dir_of(&NAMES);
        let files = files_for_day(dir.path(), day("2023-01-01")).expect("files");
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [NAMES[1], NAMES[0]]);
        let error = files_for_day(dir.path(), day("2023-01-02")).expect_err("none");
        assert!(matches!(error, LoadError::NoSourceFiles { .. }), "{error}");
    }

    #[test]
    fn days_with_files_lists_the_days_that_files_for_day_finds() {
        let dir = dir_of(&NAMES);
        let days = days_with_files(dir.path()).expect("days");
        assert_eq!(
            days.into_iter().collect::<Vec<_>>(),
            [day("2023-01-01"), day("2023-01-03")]
        );
        let missing = dir.path().join("missing");
        assert!(matches!(
            days_with_files(&missing),
            Err(LoadError::SourceDir { .. })
        ));
    }
}
