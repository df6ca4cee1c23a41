//! The datasets file: TOML, one `[[dataset]]` entry per dataset, checked whole before
//! anything runs, so that a mistake is reported with the dataset and the field it is in.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Dataset, DatasetSettings, Due, SchemaDrift};
use crate::files::day_rule::Completeness;
use crate::files::layout::Layout;
use crate::files::pattern::FilePattern;
use crate::warehouse::column_type::PgType;
use crate::warehouse::index_spec::IndexSpec;
use crate::warehouse::table::{Column, HISTORY_SCHEMA, SAMPLE_DATASET, STAGING_SCHEMA};

/// The longest table name: its leaves' names (`<table>_retired_YYYYMMDD_<12>_<n>`) must fit
/// PostgreSQL's 63 bytes.
const MAX_TABLE_NAME: usize = 28;

/// What is wrong with a datasets file, or the dataset asked for.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("cannot read the datasets file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the datasets file {}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("dataset {dataset:?}: {message}")]
    Invalid { dataset: String, message: String },
    #[error("there is no dataset {name:?}; the datasets are {}", known.join(", "))]
    Unknown { name: String, known: Vec<String> },
}

/// The file's shape.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    dataset: Vec<Entry>,
}

/// One `[[dataset]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    table: String,
    source: String,
    files: String,
    partition_column: String,
    complete: Option<String>,
    #[serde(default = "utc")]
    timezone: String,
    columns: Option<Vec<ColumnEntry>>,
    #[serde(default = "fail")]
    schema_drift: SchemaDrift,
    audits: Option<PathBuf>,
    keep_versions: Option<u32>,
    keep_versions_hours: Option<u64>,
    streams: Option<usize>,
    shrink_guard_percent: Option<u8>,
    analyze: Option<bool>,
    #[serde(default)]
    indexes: Vec<String>,
    #[serde(default)]
    live: bool,
    due: Option<String>,
}

fn utc() -> String {
    "UTC".to_owned()
}

fn fail() -> SchemaDrift {
    SchemaDrift::Fail
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnEntry {
    name: String,
    #[serde(rename = "type")]
    pg_type: String,
    #[serde(default)]
    not_null: bool,
}

/// The datasets a process knows: the sample first (the default), then those declared.
#[derive(Clone, Debug)]
pub struct Datasets {
    all: Vec<Dataset>,
}

impl Datasets {
    /// Only the built-in sample, reading from `sample_source`.
    pub fn sample_only(sample_source: &str) -> Self {
        Self {
            all: vec![Dataset::sample(sample_source)],
        }
    }

    /// The sample and the datasets of the file at `path` (relative sources and audit files
    /// are taken from the file's folder).
    pub fn from_file(path: &Path, sample_source: &str) -> Result<Self, DatasetError> {
        let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base, sample_source).map_err(|error| match error {
            DatasetError::Parse { message, .. } => DatasetError::Parse {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// [`from_file`](Self::from_file) of a file's text.
    pub fn parse(text: &str, base: &Path, sample_source: &str) -> Result<Self, DatasetError> {
        let file: File = toml::from_str(text).map_err(|e| DatasetError::Parse {
            path: PathBuf::new(),
            message: e.to_string(),
        })?;
        let mut all = vec![Dataset::sample(sample_source)];
        for entry in file.dataset {
            let name = entry.name.clone();
            let dataset = entry
                .into_dataset(base)
                .map_err(|message| DatasetError::Invalid {
                    dataset: name,
                    message,
                })?;
            check_unique(&all, &dataset)?;
            all.push(dataset);
        }
        Ok(Self { all })
    }

    /// The datasets, the sample's indexes and due time set by the process's settings
    /// (`SAMPLE_INDEXES`, `SAMPLE_DUE`).
    pub fn with_sample(mut self, indexes: Vec<IndexSpec>, due: Option<Due>) -> Self {
        self.all[0].indexes = indexes;
        self.all[0].due = due;
        self
    }

    /// Every dataset, the sample first.
    pub fn all(&self) -> &[Dataset] {
        &self.all
    }

    /// The default dataset: the sample.
    pub fn default_dataset(&self) -> &Dataset {
        &self.all[0]
    }

    /// The dataset called `name`, or an error naming the known ones.
    pub fn get(&self, name: &str) -> Result<&Dataset, DatasetError> {
        self.all
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| DatasetError::Unknown {
                name: name.to_owned(),
                known: self.all.iter().map(|d| d.name.clone()).collect(),
            })
    }
}

/// Names and tables are each one dataset's.
fn check_unique(known: &[Dataset], new: &Dataset) -> Result<(), DatasetError> {
    let invalid = |message: String| DatasetError::Invalid {
        dataset: new.name.clone(),
        message,
    };
    if let Some(other) = known.iter().find(|d| d.name == new.name) {
        return Err(invalid(if other.is_sample() {
            format!("{SAMPLE_DATASET:?} is the built-in dataset's name; choose another")
        } else {
            "declared twice".to_owned()
        }));
    }
    // Versions of every dataset wait in one history schema, named after their table.
    if let Some(other) = known.iter().find(|d| d.table_name.1 == new.table_name.1) {
        return Err(invalid(format!(
            "table name {:?} is dataset {:?}'s already (table names are unique across \
             schemas: replaced days wait in {HISTORY_SCHEMA} under them)",
            new.table_name.1, other.name
        )));
    }
    Ok(())
}

impl Entry {
    fn into_dataset(self, base: &Path) -> Result<Dataset, String> {
        check_name(&self.name)?;
        let table_name = table_name(&self.table)?;
        let pattern = FilePattern::parse(&self.files)?;
        let layout = Layout::new(
            pattern,
            self.complete.as_deref().map(completeness).transpose()?,
        )?;
        let timezone: chrono_tz::Tz = self.timezone.parse().map_err(|_| {
            format!(
                "timezone {:?} is not a time zone; write an IANA name (UTC, Europe/Paris, \
                 America/New_York)",
                self.timezone
            )
        })?;
        let mut columns = self.columns.map(|c| columns(&c)).transpose()?;
        if let Some(columns) = &mut columns {
            // Every row has a day: the partition column is NOT NULL, declared so or not.
            let partition = columns
                .iter_mut()
                .find(|c| c.name == self.partition_column)
                .ok_or_else(|| {
                    format!(
                        "partition_column {:?} is not one of the declared columns",
                        self.partition_column
                    )
                })?;
            if !partition.pg_type.can_partition() {
                return Err(format!(
                    "partition_column {:?} is {}; a day is cut by a date, timestamp or \
                     timestamptz column",
                    self.partition_column, partition.pg_type
                ));
            }
            partition.not_null = true;
        }
        let settings = DatasetSettings {
            keep_versions: self.keep_versions,
            keep_versions_hours: self.keep_versions_hours,
            streams: self.streams,
            shrink_guard_percent: self.shrink_guard_percent,
            analyze: self.analyze,
        };
        check_settings(&settings)?;
        let source = resolve_source(&self.source, base);
        if self.live && source.contains("://") && !source.starts_with("file://") {
            return Err(format!(
                "live = true appends each file as it lands in a directory; {source:?} is a \
                 bucket, whose days load whole"
            ));
        }
        let indexes = self
            .indexes
            .iter()
            .map(|text| IndexSpec::parse(text))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Dataset {
            name: self.name,
            table_name,
            source,
            layout,
            partition_column: self.partition_column,
            timezone,
            columns,
            schema_drift: self.schema_drift,
            audits: self.audits.map(|audits| base.join(audits)),
            settings,
            indexes,
            live: self.live,
            due: self.due.as_deref().map(Due::parse).transpose()?,
        })
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let starts = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    if !starts || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err("a name is [a-z][a-z0-9_]*".to_owned());
    }
    Ok(())
}

/// `schema.table`: two names, written as they are (quoted in every statement).
fn table_name(text: &str) -> Result<(String, String), String> {
    let Some((schema, table)) = text.split_once('.') else {
        return Err(format!("table {text:?}: write schema.table"));
    };
    if schema.is_empty() || table.is_empty() || table.contains('.') {
        return Err(format!("table {text:?}: write schema.table"));
    }
    if [
        HISTORY_SCHEMA,
        STAGING_SCHEMA,
        "ops",
        "pg_catalog",
        "information_schema",
    ]
    .contains(&schema)
    {
        return Err(format!(
            "table {text:?}: schema {schema} is the loader's own"
        ));
    }
    if table.len() > MAX_TABLE_NAME {
        return Err(format!(
            "table {text:?}: a table name of at most {MAX_TABLE_NAME} bytes, so that its \
             days' leaves' names fit PostgreSQL's 63"
        ));
    }
    if text == "dwh.data_sample" {
        return Err("dwh.data_sample is the sample's table".to_owned());
    }
    Ok((schema.to_owned(), table.to_owned()))
}

fn completeness(text: &str) -> Result<Completeness, String> {
    Ok(match text {
        "all" => Completeness::All,
        "any" => Completeness::Any,
        marker if !marker.is_empty() && !marker.contains('/') => {
            Completeness::Marker(marker.to_owned())
        }
        other => {
            return Err(format!(
                "complete = {other:?}: write \"all\", \"any\" or a marker file's name (\"_SUCCESS\")"
            ));
        }
    })
}

fn columns(entries: &[ColumnEntry]) -> Result<Vec<Column>, String> {
    let mut seen = HashSet::new();
    entries
        .iter()
        .map(|entry| {
            if entry.name.is_empty() || entry.name.len() > 63 {
                return Err(format!("column {:?}: a name of 1 to 63 bytes", entry.name));
            }
            if !seen.insert(entry.name.as_str()) {
                return Err(format!("column {:?} is declared twice", entry.name));
            }
            let pg_type = PgType::parse(&entry.pg_type)
                .map_err(|e| format!("column {:?}: {e}", entry.name))?;
            Ok(Column::new(&entry.name, pg_type, entry.not_null))
        })
        .collect()
}

fn check_settings(settings: &DatasetSettings) -> Result<(), String> {
    if settings.streams.is_some_and(|s| !(1..=16).contains(&s)) {
        return Err("streams: 1 to 16".to_owned());
    }
    if settings.shrink_guard_percent.is_some_and(|p| p > 100) {
        return Err("shrink_guard_percent: 0 to 100".to_owned());
    }
    if settings.keep_versions_hours == Some(0) {
        return Err("keep_versions_hours: at least 1".to_owned());
    }
    Ok(())
}

/// A relative directory is the datasets file's folder's; a URL is itself.
fn resolve_source(source: &str, base: &Path) -> String {
    if source.contains("://") || Path::new(source).is_absolute() {
        source.to_owned()
    } else {
        base.join(source).to_string_lossy().into_owned()
    }
}

#[cfg(test)]
mod tests;
