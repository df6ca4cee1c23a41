//! What the pages and `GET /days` know of each day's files — how many, their bytes, the
//! newest change, which minutes — without listing the data source for every request.
//! Listing is for the watcher and for the loads themselves: on a bucket each listing is
//! billed requests, on a disk a `stat` per file, and anyone who can reach the port (or a
//! dashboard left open) could keep either busy with a loop of GETs.
//!
//! With `WATCH=on` a watcher keeps the file ledger (`ops.minute_files`: every file, its
//! size and modification time), so it is read instead: no file is touched. With
//! `WATCH=off` nobody keeps it; then one listing (and a `stat` of each file) is shared by
//! every request for [`SHARED_FOR`], and requests arriving meanwhile wait for the one
//! listing under way rather than start their own.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use chrono::{NaiveDate, NaiveTime, Timelike};
use loader::{Cadence, DayFiles, FilesSummary, LoadError};
use sqlx::PgPool;
use tokio::sync::Mutex;

use crate::catalog::{Catalog, ServedDataset};
use crate::intake::without_data_dir;
use crate::ledger;
use crate::problem::ApiError;

/// The widest range of days asked for: what PostgreSQL's `date` and file names both hold.
const FIRST_DAY: NaiveDate = NaiveDate::from_ymd_opt(1, 1, 1).expect("a date");
const LAST_DAY: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).expect("a date");

/// How long one listing of the source answers for, without a watcher.
pub const SHARED_FOR: Duration = Duration::from_secs(5);

/// Where the answers come from: the file ledger a watcher keeps, or, without a watcher,
/// each dataset's listing shared for a few seconds.
#[derive(Debug)]
pub struct FilesView {
    watched: bool,
    listings: HashMap<String, SharedListing>,
}

impl FilesView {
    /// The ledger when a watcher keeps it (`WATCH=on`, in this instance or in the worker
    /// instances beside it), else a shared listing of each dataset's source.
    pub fn new(watched: bool, catalog: &Catalog) -> Self {
        let listings = if watched {
            HashMap::new()
        } else {
            catalog
                .all()
                .iter()
                .map(|dataset| {
                    let listing = SharedListing {
                        dataset: Arc::clone(dataset),
                        latest: Mutex::new(None),
                    };
                    (dataset.name().to_owned(), listing)
                })
                .collect()
        };
        Self { watched, listings }
    }

    fn listing(&self, dataset: &ServedDataset) -> Result<&SharedListing, ApiError> {
        self.listings.get(dataset.name()).ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("no listing of dataset {}", dataset.name()))
        })
    }

    /// Each day of `from..=to` of `dataset` that has files, with what its files are now.
    pub async fn summaries(
        &self,
        dataset: &ServedDataset,
        pool: &PgPool,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, FilesSummary>, ApiError> {
        if self.watched {
            return Ok(ledger::view::day_files(pool, dataset.name(), from, to).await?);
        }
        Ok(self
            .listing(dataset)?
            .get()
            .await?
            .range(from..=to)
            .map(|(date, day)| (*date, day.summary))
            .collect())
    }

    /// Every day of `dataset` that has files, with what its files are now.
    pub async fn all_days(
        &self,
        dataset: &ServedDataset,
        pool: &PgPool,
    ) -> Result<BTreeMap<NaiveDate, FilesSummary>, ApiError> {
        self.summaries_or_none(dataset, pool, FIRST_DAY, LAST_DAY)
            .await
    }

    /// [`FilesView::summaries`] for a page, which shows what it can: a source that cannot
    /// be listed counts as one without files (and is logged).
    pub async fn summaries_or_none(
        &self,
        dataset: &ServedDataset,
        pool: &PgPool,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, FilesSummary>, ApiError> {
        match self.summaries(dataset, pool, from, to).await {
            Err(ApiError::Unavailable(reason)) if !self.watched => {
                tracing::warn!(%reason, "could not list the source files");
                Ok(BTreeMap::new())
            }
            other => other,
        }
    }

    /// The slots of `date` that have a file now, in the dataset's cadence (minutes of the
    /// day, 0 is 00:00; hours; the one file of a daily dataset; a globbed day's parts
    /// numbered in name order).
    pub async fn slots_present(
        &self,
        dataset: &ServedDataset,
        pool: &PgPool,
        date: NaiveDate,
    ) -> Result<BTreeSet<u16>, ApiError> {
        if self.watched {
            return Ok(ledger::view::slots_present(pool, dataset, date).await?);
        }
        match self.listing(dataset)?.get().await {
            Ok(listed) => Ok(listed
                .get(&date)
                .map(|day| day.slots.clone())
                .unwrap_or_default()),
            Err(ApiError::Unavailable(reason)) => {
                tracing::warn!(%reason, "could not list the source files");
                Ok(BTreeSet::new())
            }
            Err(other) => Err(other),
        }
    }
}

/// A listing of the source and when it was made.
#[derive(Debug)]
pub struct SharedListing {
    dataset: Arc<ServedDataset>,
    latest: Mutex<Option<(Instant, Arc<Listed>)>>,
}

type Listed = BTreeMap<NaiveDate, DayNow>;

/// One day's files, as the last listing found them.
#[derive(Debug, Clone)]
struct DayNow {
    summary: FilesSummary,
    slots: BTreeSet<u16>,
}

impl SharedListing {
    /// The latest listing, made now if it is older than [`SHARED_FOR`]. The lock is held
    /// while listing, so that concurrent requests share one listing.
    async fn get(&self) -> Result<Arc<Listed>, ApiError> {
        let mut latest = self.latest.lock().await;
        if let Some((at, listed)) = latest.as_ref()
            && at.elapsed() < SHARED_FOR
        {
            return Ok(Arc::clone(listed));
        }
        let listed = Arc::new(self.list().await?);
        *latest = Some((Instant::now(), Arc::clone(&listed)));
        Ok(listed)
    }

    /// Lists the source and reads each file's metadata, off the async runtime. A bucket
    /// that cannot be listed is unavailable (503: it is not a bucket without files); a
    /// directory that cannot be read counts as empty (it may not have been made yet).
    async fn list(&self) -> Result<Listed, ApiError> {
        let source = &self.dataset.source;
        let days = match source.list_layout_days(&self.dataset.dataset.layout).await {
            Ok(days) => days,
            Err(error @ LoadError::Storage { .. }) => {
                let reason = without_data_dir(&error.to_string(), source);
                return Err(ApiError::Unavailable(reason));
            }
            Err(error) => {
                tracing::warn!(%error, "could not list the source files");
                BTreeMap::new()
            }
        };
        web::block(move || {
            days.into_iter()
                .map(day_now)
                .collect::<std::io::Result<Listed>>()
        })
        .await
        .map_err(|e| anyhow::anyhow!("reading the files' metadata: {e}"))?
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("reading the files' metadata: {e}")))
    }
}

/// The minute of the day a time falls in (0 is 00:00).
pub fn minute_of(time: &NaiveTime) -> u16 {
    (time.hour() * 60 + time.minute()) as u16
}

fn day_now((date, day): (NaiveDate, DayFiles)) -> std::io::Result<(NaiveDate, DayNow)> {
    let summary = day.summary()?;
    Ok((
        date,
        DayNow {
            summary,
            slots: slots_of(&day),
        },
    ))
}

/// The slots of a day that have a file, in its cadence: every slot but the missing ones;
/// a globbed day's parts, numbered.
fn slots_of(day: &DayFiles) -> BTreeSet<u16> {
    let Some(cadence) = day.rule().cadence else {
        return (0..u16::try_from(day.file_count()).unwrap_or(u16::MAX)).collect();
    };
    let missing: BTreeSet<u16> = day
        .missing()
        .times()
        .iter()
        .map(|time| slot_of(cadence, time))
        .collect();
    (0..cadence.slots() as u16)
        .filter(|slot| !missing.contains(slot))
        .collect()
}

/// The slot a time starts, in `cadence`.
pub fn slot_of(cadence: Cadence, time: &NaiveTime) -> u16 {
    match cadence {
        Cadence::Minute => minute_of(time),
        Cadence::Hour => time.hour() as u16,
        Cadence::Day => 0,
    }
}
