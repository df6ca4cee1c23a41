//! What `GET /datasets` and `GET /datasets/{name}` answer: each dataset as declared (its
//! table, source, file pattern, completeness rule, columns) and a summary of its days.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Days, NaiveDate, Utc};
use loader::{Cadence, Completeness, FilesSummary};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::catalog::ServedDataset;
use crate::domain::{DateRange, DayState, LoadDate};
use crate::problem::ApiError;
use crate::queries::days::{DayStatus, statuses};
use crate::queries::files::FilesView;
use crate::queue;

/// A dataset: what it is and how its days stand.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "name": "meters", "table": "readings.meters", "source": "bucket",
    "files": "dt=%Y-%m-%d/hour=%H.parquet", "cadence": "hour", "complete": "all",
    "partition_column": "read_at", "timezone": "UTC", "schema_drift": "fail",
    "columns_from": "table", "table_exists": true,
    "columns": [{"name": "read_at", "type": "timestamp", "not_null": true},
                {"name": "meter", "type": "bigint", "not_null": true}],
    "due": "06:00",
    "days": {"loaded": 30, "partial": 0, "failed": 1, "complete_waiting": 0,
             "arriving": 1, "newest_loaded_day": "2024-03-30",
             "last_load": "2024-03-31T00:12:09Z", "late": 1,
             "oldest_late_day": "2024-03-30", "late_seconds": 5400}
}))]
pub struct DatasetInfo {
    /// What the `dataset` parameter of the other routes names it.
    pub name: String,
    /// `schema.table`, partitioned by day.
    pub table: String,
    /// Where its files are: `directory` or `bucket` (the location is the operator's).
    pub source: String,
    /// Its file pattern, relative to its source.
    pub files: String,
    /// What one file of a day holds: `minute`, `hour`, `day`; null for a day of any number
    /// of parts (a glob).
    pub cadence: Option<String>,
    /// When a day is whole: `all` its files, `marker <name>` (written last), or `any`.
    pub complete: String,
    pub partition_column: String,
    /// Where its days start and end.
    pub timezone: String,
    /// What a load does with a column its table lacks: `fail` or `add_columns`.
    pub schema_drift: String,
    /// The indexes it declares (`method (keys)`), built on each day's leaves before its
    /// swap.
    pub indexes: Vec<String>,
    /// When a day must be loaded by: HH:MM of the next day in `timezone`; null when it
    /// declares none (its days are never late).
    pub due: Option<String>,
    /// Where `columns` come from: `table` (as PostgreSQL has it), `declared` (the table
    /// does not exist yet), or `files` (nothing declared: its first load takes them from
    /// the day's first file, and `columns` is empty until then).
    pub columns_from: String,
    pub table_exists: bool,
    pub columns: Vec<ColumnInfo>,
    pub days: DaysSummary,
}

/// A column, with its PostgreSQL type.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ColumnInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub pg_type: String,
    pub not_null: bool,
}

/// How a dataset's days stand, over every day it has files, loads or jobs of.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct DaysSummary {
    /// Loaded from their files as they are now.
    pub loaded: usize,
    /// Loaded without some of their files (allowed explicitly).
    pub partial: usize,
    /// Whose latest job failed.
    pub failed: usize,
    /// Whole and not loaded yet: the watcher queues them once they settle.
    pub complete_waiting: usize,
    /// With some files, not whole yet.
    pub arriving: usize,
    #[schema(value_type = Option<String>, format = Date)]
    pub newest_loaded_day: Option<NaiveDate>,
    pub last_load: Option<DateTime<Utc>>,
    /// Days past due and not loaded (or failed, or partial), from the first day the
    /// dataset has files, a load or a job of to the newest day past due; 0 without `due`.
    pub late: usize,
    #[schema(value_type = Option<String>, format = Date)]
    pub oldest_late_day: Option<NaiveDate>,
    /// How long past due the oldest late day is, in seconds; null when none is late.
    pub late_seconds: Option<i64>,
}

/// `dataset` as `GET /datasets` describes it.
pub async fn info(
    dataset: &ServedDataset,
    pool: &PgPool,
    files: &FilesView,
) -> Result<DatasetInfo, ApiError> {
    let declared = &dataset.dataset;
    let table = dataset.table(pool).await?;
    let (columns_from, columns) = match (&table, &declared.columns) {
        (Some(table), _) => ("table", table.columns().to_vec()),
        (None, Some(columns)) => ("declared", columns.clone()),
        (None, None) => ("files", Vec::new()),
    };
    let rule = declared.layout.rule();
    Ok(DatasetInfo {
        name: declared.name.clone(),
        table: declared.table_display(),
        source: if dataset.source.is_dir() {
            "directory"
        } else {
            "bucket"
        }
        .to_owned(),
        files: declared.layout.describe(),
        cadence: rule.cadence.map(|c| cadence_word(c).to_owned()),
        complete: match &rule.complete {
            Completeness::All => "all".to_owned(),
            Completeness::Marker(marker) => format!("marker {marker}"),
            Completeness::Any => "any".to_owned(),
        },
        partition_column: declared.partition_column.clone(),
        timezone: declared.timezone.name().to_owned(),
        schema_drift: format!("{:?}", declared.schema_drift).to_lowercase(),
        indexes: declared.indexes.iter().map(|index| index.text()).collect(),
        due: declared.due.map(|due| due.text()),
        columns_from: columns_from.to_owned(),
        table_exists: table.is_some(),
        columns: columns
            .into_iter()
            .map(|c| ColumnInfo {
                name: c.name,
                pg_type: c.pg_type.to_string(),
                not_null: c.not_null,
            })
            .collect(),
        days: days_summary(dataset, pool, files).await?,
    })
}

fn cadence_word(cadence: Cadence) -> &'static str {
    match cadence {
        Cadence::Minute => "minute",
        Cadence::Hour => "hour",
        Cadence::Day => "day",
    }
}

/// The summary of every day the dataset knows of, and of every day after them that is
/// past due, a range of at most 366 days at a time.
pub async fn days_summary(
    dataset: &ServedDataset,
    pool: &PgPool,
    files: &FilesView,
) -> Result<DaysSummary, ApiError> {
    let available = files.all_days(dataset, pool).await?;
    days_summary_of(dataset, pool, &available).await
}

/// [`days_summary`] with the dataset's days that have files (`FilesView::all_days`)
/// already read.
pub async fn days_summary_of(
    dataset: &ServedDataset,
    pool: &PgPool,
    available: &BTreeMap<NaiveDate, FilesSummary>,
) -> Result<DaysSummary, ApiError> {
    let partitions = dataset.partitions(pool).await?;
    let mut known: BTreeSet<NaiveDate> = available.keys().copied().collect();
    known.extend(partitions.iter().map(|p| p.day));
    known.extend(queue::job_dates(pool, dataset.name()).await?);
    let (declared, now) = (&dataset.dataset, Utc::now());
    let last_due = declared
        .due
        .map(|due| due.last_due_day(now, declared.timezone));
    let mut counts: HashMap<DayState, usize> = HashMap::new();
    let mut late: Vec<DayStatus> = Vec::new();
    let mut start = known.first().copied();
    while let (Some(from), Some(&last)) = (start, known.last()) {
        let last = last.max(last_due.unwrap_or(last));
        let to = last.min(from + Days::new(DateRange::MAX_DAYS as u64 - 1));
        let range = DateRange::new(LoadDate::from(from), LoadDate::from(to))?;
        for status in statuses(dataset, pool, available, range).await? {
            if known.contains(&status.date) {
                *counts.entry(status.state).or_default() += 1;
            }
            if status.late {
                late.push(status);
            }
        }
        start = to.succ_opt().filter(|next| *next <= last);
    }
    let count = |state| counts.get(&state).copied().unwrap_or(0);
    let oldest_late = late.first();
    Ok(DaysSummary {
        loaded: count(DayState::Loaded) + count(DayState::Changed),
        partial: count(DayState::Partial),
        failed: count(DayState::Failed),
        complete_waiting: count(DayState::Complete),
        arriving: count(DayState::Arriving) + count(DayState::Live),
        newest_loaded_day: partitions.iter().map(|p| p.day).max(),
        last_load: partitions.iter().map(|p| p.loaded_at).max(),
        late: late.len(),
        oldest_late_day: oldest_late.map(|day| day.date),
        late_seconds: oldest_late
            .and_then(|day| day.due_at)
            .map(|at| (now - at).num_seconds()),
    })
}
