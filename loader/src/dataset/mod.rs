//! Datasets: what a load replaces a day of, and from where. The sample (built in, the
//! default) is one; a datasets file (`--datasets` / `DATASETS_FILE`, TOML) declares more,
//! each with its table, source, file pattern, completeness rule, partition column, columns
//! (declared, or found in the files), schema-drift rule, audits and settings.
//!
//! This room sits above `files` and `warehouse`, whose words (patterns, layouts, tables,
//! column types) a declaration is made of, and below `load`, which runs one.

mod declaration;
mod drift;
mod due;
mod schema;

use std::path::PathBuf;
use std::sync::Arc;

use crate::files::layout::Layout;
use crate::warehouse::index_spec::IndexSpec;
use crate::warehouse::table::{Column, SAMPLE_DATASET, Table};

pub use declaration::{DatasetError, Datasets};
pub use drift::columns_of_files;
pub(crate) use drift::widen_for_drift;
pub use due::Due;
pub use schema::{ensure_table, find_columns, find_table};

/// What a load does with a file's column that its table lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaDrift {
    /// Fail the load, naming the file and the column.
    Fail,
    /// Add the column to the table (nullable: earlier days read NULL) in the swap's
    /// transaction.
    AddColumns,
}

/// One dataset.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub name: String,
    /// `schema.table`.
    pub table_name: (String, String),
    /// Where its files are: a directory, `file://…`, or a bucket URL.
    pub source: String,
    pub layout: Layout,
    pub partition_column: String,
    /// Where a day starts, for a `timestamptz` partition column (UTC by default).
    pub timezone: chrono_tz::Tz,
    /// The declared columns (the contract); `None`: found in the table, or in the files.
    pub columns: Option<Vec<Column>>,
    pub schema_drift: SchemaDrift,
    /// Its audit file; `None`: no audit (the sample's default audit is built in).
    pub audits: Option<PathBuf>,
    pub settings: DatasetSettings,
    /// Its indexes, built on each day's leaves before the swap (`warehouse/indexes.rs`).
    pub indexes: Vec<IndexSpec>,
    /// Each file of a day not loaded yet is appended as it lands (`live = true`; the
    /// service's watcher does it, from a directory). The sample's is the service's `LIVE`.
    pub live: bool,
    /// When a day must be loaded by (`due = "06:00"`); `None`: never late.
    pub due: Option<Due>,
}

/// Today's loading settings, per dataset (`None`: the process's own).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatasetSettings {
    pub keep_versions: Option<u32>,
    pub keep_versions_hours: Option<u64>,
    pub streams: Option<usize>,
    pub shrink_guard_percent: Option<u8>,
    /// `ANALYZE` the new leaves before the swap (`analyze = true`).
    pub analyze: Option<bool>,
}

impl Dataset {
    /// The built-in sample, reading its minute files from `source` into `dwh.data_sample`.
    pub fn sample(source: &str) -> Self {
        let table = Table::sample();
        Self {
            name: SAMPLE_DATASET.to_owned(),
            table_name: (table.schema().to_owned(), table.name().to_owned()),
            source: source.to_owned(),
            layout: Layout::SampleMinutes,
            partition_column: table.partition_column().name.clone(),
            timezone: chrono_tz::UTC,
            columns: Some(table.columns().to_vec()),
            schema_drift: SchemaDrift::Fail,
            audits: None,
            settings: DatasetSettings::default(),
            indexes: table.indexes().to_vec(),
            live: false,
            due: None,
        }
    }

    pub fn is_sample(&self) -> bool {
        self.name == SAMPLE_DATASET
    }

    /// `schema.table`, for people.
    pub fn table_display(&self) -> String {
        format!("{}.{}", self.table_name.0, self.table_name.1)
    }

    /// The dataset's table with `columns` (the declared ones, or those found).
    pub fn table_with(&self, columns: Vec<Column>) -> Result<Arc<Table>, String> {
        if self.is_sample() {
            return Ok(Arc::new(Table::sample_indexed(self.indexes.clone())));
        }
        let table = Table::new(
            &self.name,
            &self.table_name.0,
            &self.table_name.1,
            columns,
            &self.partition_column,
        )?;
        Ok(Arc::new(
            table
                .in_timezone(self.timezone)
                .with_indexes(self.indexes.clone()),
        ))
    }
}
