//! Queueing a range (`POST /jobs?from=…&to=…`): a backfill, one job per day of the range; `reprocess=`
//! chooses which days, and `dry_run=true` says what it would queue without queueing.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use loader::{DayFiles, FilesSummary, LoadError};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::catalog::ServedDataset;
use crate::domain::{DateRange, DayFacts, Job, JobStatus, Loaded, Reprocess};
use crate::intake::{self, Intake};
use crate::problem::ApiError;
use crate::queue::{self, Enqueued, NewJob};

/// What a backfill queued (or, in a dry run, would queue), and the days it did not.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Backfill {
    /// True when nothing was queued: `would_queue` lists what would have been.
    pub dry_run: bool,
    /// Jobs queued, one per day.
    pub created: Vec<Job>,
    /// In a dry run, the days that would be queued.
    #[schema(value_type = Vec<String>, example = json!(["2023-01-02"]))]
    pub would_queue: Vec<NaiveDate>,
    /// Days that already had a queued or running job.
    pub busy: Vec<BusyDate>,
    /// Days without source files.
    #[schema(value_type = Vec<String>, example = json!(["2023-02-01"]))]
    pub missing: Vec<NaiveDate>,
    /// Days with some minute files missing, not queued (`allow_partial=true` queues them).
    pub incomplete: Vec<RefusedDate>,
    /// Days with files named after the day that are not its minute files, not queued.
    pub ambiguous: Vec<RefusedDate>,
    /// Days `reprocess` left alone, and why ("already loaded", …).
    pub skipped: Vec<RefusedDate>,
}

/// A day a backfill did not queue, and why.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RefusedDate {
    #[schema(value_type = String, format = Date, example = "2023-01-31")]
    pub date: NaiveDate,
    #[schema(
        example = "2023-01-31 is incomplete: 1439 of its 1,440 minutes have no file (00:01, 00:02, 00:03, 00:04, 00:05 … and 1434 more); load it with allow_partial=true (--allow-partial) to replace the day with the minutes there are"
    )]
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BusyDate {
    #[schema(value_type = String, format = Date, example = "2023-01-01")]
    pub date: NaiveDate,
    /// The job that is already queued or running for the day.
    pub job_id: Uuid,
}

/// How a backfill runs, besides the range.
#[derive(Debug, Clone, Copy)]
pub struct BackfillOptions {
    pub job: NewJob,
    pub reprocess: Reprocess,
    pub dry_run: bool,
}

/// Queues each day of `range` that may be (or, in a dry run, says which it would), and
/// says what became of every day.
pub async fn queue_range(
    dataset: &ServedDataset,
    range: DateRange,
    options: BackfillOptions,
    pool: &PgPool,
    intake: &Intake,
) -> Result<Backfill, ApiError> {
    let available = intake.list_days(dataset).await?;
    if range
        .days()
        .all(|date| !available.contains_key(&date.get()))
    {
        return Err(ApiError::NoSourceFiles(
            "no source files for any day of the range in the data directory".into(),
        ));
    }
    let facts = Facts::gather(dataset, pool, &range, &available, options.reprocess).await?;
    let mut result = Backfill {
        dry_run: options.dry_run,
        created: Vec::new(),
        would_queue: Vec::new(),
        busy: Vec::new(),
        missing: Vec::new(),
        incomplete: Vec::new(),
        ambiguous: Vec::new(),
        skipped: Vec::new(),
    };
    for date in range.days().map(|d| d.get()) {
        let Some(files) = available.get(&date) else {
            result.missing.push(date);
            continue;
        };
        if let Err(error) = files.judge(options.job.allow_partial) {
            let reason = intake::without_data_dir(&error.to_string(), &dataset.source);
            match error {
                LoadError::DayIncomplete { .. } => &mut result.incomplete,
                _ => &mut result.ambiguous,
            }
            .push(RefusedDate { date, reason });
            continue;
        }
        if let Err(reason) = options.reprocess.select(&facts.of(date)) {
            let reason = reason.to_owned();
            result.skipped.push(RefusedDate { date, reason });
            continue;
        }
        queue_day(dataset.name(), date, options, pool, &mut result).await?;
    }
    if options.dry_run {
        return Ok(result);
    }
    intake.wake_workers();
    tracing::info!(
        dataset = dataset.name(),
        created = result.created.len(),
        busy = result.busy.len(),
        missing = result.missing.len(),
        incomplete = result.incomplete.len(),
        ambiguous = result.ambiguous.len(),
        skipped = result.skipped.len(),
        "backfill queued"
    );
    Ok(result)
}

/// Queues the day, or in a dry run notes that it would (unless it is busy).
async fn queue_day(
    dataset: &str,
    date: NaiveDate,
    options: BackfillOptions,
    pool: &PgPool,
    result: &mut Backfill,
) -> Result<(), ApiError> {
    let busy = |job: Job| BusyDate {
        date: job.date,
        job_id: job.id,
    };
    if options.dry_run {
        match queue::active_for(pool, dataset, date).await? {
            Some(active) => result.busy.push(busy(active)),
            None => result.would_queue.push(date),
        }
        return Ok(());
    }
    match queue::enqueue(pool, dataset, date, options.job).await? {
        Enqueued::Created(job) => result.created.push(job),
        Enqueued::Busy(job) => result.busy.push(busy(job)),
    }
    Ok(())
}

/// What `reprocess` needs to know of the range's days, read once for the whole range.
struct Facts {
    loaded: HashMap<NaiveDate, Loaded>,
    last_jobs: HashMap<NaiveDate, JobStatus>,
    /// Only for `reprocess=changed`: the files as they are now.
    files: HashMap<NaiveDate, FilesSummary>,
}

impl Facts {
    async fn gather(
        dataset: &ServedDataset,
        pool: &PgPool,
        range: &DateRange,
        available: &BTreeMap<NaiveDate, DayFiles>,
        reprocess: Reprocess,
    ) -> Result<Self, ApiError> {
        if reprocess == Reprocess::All {
            return Ok(Self {
                loaded: HashMap::new(),
                last_jobs: HashMap::new(),
                files: HashMap::new(),
            });
        }
        let (from, to) = (range.from().get(), range.to().get());
        let loaded = dataset
            .partitions(pool)
            .await?
            .into_iter()
            .filter(|p| (from..=to).contains(&p.day))
            .map(|p| (p.day, Loaded::from(&p)))
            .collect();
        let last_jobs = queue::latest_by_day(pool, dataset.name(), from, to)
            .await?
            .into_iter()
            .map(|(date, (_, status))| (date, status))
            .collect();
        let files = if reprocess == Reprocess::Changed {
            intake::files_now(available, from, to).await?
        } else {
            HashMap::new()
        };
        Ok(Self {
            loaded,
            last_jobs,
            files,
        })
    }

    fn of(&self, date: NaiveDate) -> DayFacts {
        DayFacts {
            loaded: self.loaded.get(&date).copied(),
            last_job: self.last_jobs.get(&date).copied(),
            files: self.files.get(&date).copied().unwrap_or_default(),
        }
    }
}
