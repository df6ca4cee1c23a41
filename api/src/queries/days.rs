//! Where each day stands — its files, its load, its latest job — in one word per day:
//! what `GET /days` answers and the dashboard's month and day pages draw.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use loader::{Completeness, FilesSummary, PartitionInfo};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::catalog::ServedDataset;
use crate::domain::{DateRange, DayFacts, DayState, JobStatus, LoadDate, Loaded};
use crate::ledger::view::{self as ledger_view, LiveDay};
use crate::problem::ApiError;
use crate::queue;

/// One day: its state and what it rests on.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "date": "2023-01-01", "state": "loaded", "minutes_present": 1440, "minutes_loaded": 1440,
    "rows": 2756160, "loaded_at": "2026-11-25T10:00:02.510000Z",
    "due_at": "2023-01-02T06:00:00Z", "late": false,
    "latest_job": {"id": "0193a0c4-5a4e-7cc1-9d7e-2f0c1f6f3b11", "status": "succeeded"}
}))]
pub struct DayStatus {
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    pub state: DayState,
    /// Files of the day in its source now (for the sample, minute files of 1,440): as the
    /// watcher last saw them (`WATCH=on`), or as a listing of the last few seconds found
    /// them.
    pub minutes_present: usize,
    /// Files the day's current rows were loaded from (by its load, or appended live);
    /// null if none.
    pub minutes_loaded: Option<i64>,
    /// Rows the day holds; null if nothing of it was loaded.
    pub rows: Option<i64>,
    pub loaded_at: Option<DateTime<Utc>>,
    /// When the day must be loaded by (its dataset's `due`, on the next day); null when
    /// the dataset declares none.
    pub due_at: Option<DateTime<Utc>>,
    /// Past `due_at` and not loaded (or its latest job failed, or it was loaded partial).
    pub late: bool,
    /// The day's newest job, whatever its status.
    pub latest_job: Option<LatestJob>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LatestJob {
    pub id: Uuid,
    pub status: JobStatus,
}

/// The status of each day of `range`, from what its files are now (`files`, see
/// `queries::files`), the load records, the latest jobs and the live minutes.
pub async fn statuses(
    dataset: &ServedDataset,
    pool: &PgPool,
    files: &BTreeMap<NaiveDate, FilesSummary>,
    range: DateRange,
) -> Result<Vec<DayStatus>, ApiError> {
    let (from, to) = (range.from().get(), range.to().get());
    let loads: HashMap<NaiveDate, PartitionInfo> = dataset
        .partitions(pool)
        .await?
        .into_iter()
        .filter(|p| (from..=to).contains(&p.day))
        .map(|p| (p.day, p))
        .collect();
    let jobs = queue::latest_by_day(pool, dataset.name(), from, to).await?;
    let whole_at = whole_at(dataset);
    // A marker says a day is whole where a count cannot.
    let marked = match dataset.dataset.layout.rule().complete {
        Completeness::Marker(_) => ledger_view::marked_days(pool, dataset.name(), from, to).await?,
        _ => BTreeSet::new(),
    };
    let live = ledger_view::live_days(pool, dataset.name(), from, to).await?;
    let (due, timezone, now) = (dataset.dataset.due, dataset.dataset.timezone, Utc::now());
    Ok(range
        .days()
        .map(|date| {
            let date = date.get();
            let live = live.get(&date).copied().unwrap_or_default();
            let mut status = status(
                date,
                loads.get(&date),
                jobs.get(&date),
                files.get(&date),
                (live, whole_at.or(marked.contains(&date).then_some(1))),
            );
            status.due_at = due.map(|due| due.deadline(date, timezone));
            status.late = status.due_at.is_some_and(|at| at <= now) && status.state.late_once_due();
            status
        })
        .collect())
}

/// The status of one day (see [`statuses`]).
pub async fn status_of(
    dataset: &ServedDataset,
    pool: &PgPool,
    files: &BTreeMap<NaiveDate, FilesSummary>,
    date: LoadDate,
) -> Result<DayStatus, ApiError> {
    let range = DateRange::new(date, date)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("one day is a range: {e}")))?;
    statuses(dataset, pool, files, range)
        .await?
        .pop()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no status for {date}")))
}

/// How many files make a day of `dataset` whole, when a count can say (a day of a
/// marker's rule is whole at one file once its marker is there).
fn whole_at(dataset: &ServedDataset) -> Option<usize> {
    let rule = dataset.dataset.layout.rule();
    match (rule.complete, rule.cadence) {
        (Completeness::All, Some(cadence)) => Some(cadence.slots()),
        (Completeness::Any, _) => Some(1),
        _ => None,
    }
}

fn status(
    date: NaiveDate,
    load: Option<&PartitionInfo>,
    job: Option<&(Uuid, JobStatus)>,
    files: Option<&FilesSummary>,
    (live, whole_at): (LiveDay, Option<usize>),
) -> DayStatus {
    let files = files.copied().unwrap_or_default();
    let facts = DayFacts {
        loaded: load.map(Loaded::from),
        last_job: job.map(|&(_, status)| status),
        files,
    };
    DayStatus {
        date,
        state: DayState::of_dataset(
            &facts,
            load.is_some_and(PartitionInfo::is_partial),
            live,
            whole_at,
        ),
        minutes_present: files.files,
        minutes_loaded: match load {
            Some(load) => Some(i64::from(load.files)),
            None => (live.minutes > 0).then_some(live.minutes),
        },
        rows: load
            .map(|p| p.rows)
            .or((live.minutes > 0).then_some(live.rows)),
        loaded_at: load.map(|p| p.loaded_at),
        due_at: None,
        late: false,
        latest_job: job.map(|&(id, status)| LatestJob { id, status }),
    }
}
