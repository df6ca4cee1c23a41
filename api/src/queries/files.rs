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

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use chrono::{NaiveDate, NaiveTime, Timelike};
use loader::{DataSource, DayFiles, FilesSummary, LoadError};
use sqlx::PgPool;
use tokio::sync::Mutex;

use crate::intake::without_data_dir;
use crate::ledger;
use crate::problem::ApiError;

/// The widest range of days asked for: what PostgreSQL's `date` and file names both hold.
const FIRST_DAY: NaiveDate = NaiveDate::from_ymd_opt(1, 1, 1).expect("a date");
const LAST_DAY: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).expect("a date");

/// How long one listing of the source answers for, without a watcher.
pub const SHARED_FOR: Duration = Duration::from_secs(5);

/// Where the answers come from.
#[derive(Debug)]
pub enum FilesView {
    /// The file ledger a watcher keeps.
    Ledger,
    /// A listing of the source, shared for a few seconds.
    Listing(SharedListing),
}

impl FilesView {
    /// The ledger when a watcher keeps it (`WATCH=on`, in this instance or in the worker
    /// instances beside it), else a shared listing of `source`.
    pub fn new(watched: bool, source: DataSource) -> Self {
        if watched {
            Self::Ledger
        } else {
            Self::Listing(SharedListing {
                source,
                latest: Mutex::new(None),
            })
        }
    }

    /// Each day of `from..=to` that has files, with what its files are now.
    pub async fn summaries(
        &self,
        pool: &PgPool,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, FilesSummary>, ApiError> {
        match self {
            Self::Ledger => Ok(ledger::view::day_files(pool, from, to).await?),
            Self::Listing(shared) => Ok(shared
                .get()
                .await?
                .range(from..=to)
                .map(|(date, day)| (*date, day.summary))
                .collect()),
        }
    }

    /// Every day that has files, with what its files are now.
    pub async fn all_days(
        &self,
        pool: &PgPool,
    ) -> Result<BTreeMap<NaiveDate, FilesSummary>, ApiError> {
        self.summaries_or_none(pool, FIRST_DAY, LAST_DAY).await
    }

    /// [`FilesView::summaries`] for a page, which shows what it can: a source that cannot
    /// be listed counts as one without files (and is logged).
    pub async fn summaries_or_none(
        &self,
        pool: &PgPool,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, FilesSummary>, ApiError> {
        match self.summaries(pool, from, to).await {
            Err(ApiError::Unavailable(reason)) if matches!(self, Self::Listing(_)) => {
                tracing::warn!(%reason, "could not list the source files");
                Ok(BTreeMap::new())
            }
            other => other,
        }
    }

    /// The minutes of `date` that have a file now (0 is 00:00).
    pub async fn minutes_present(
        &self,
        pool: &PgPool,
        date: NaiveDate,
    ) -> Result<BTreeSet<u16>, ApiError> {
        match self {
            Self::Ledger => Ok(ledger::view::minutes_present(pool, date).await?),
            Self::Listing(shared) => match shared.get().await {
                Ok(listed) => Ok(listed
                    .get(&date)
                    .map(|day| day.minutes.clone())
                    .unwrap_or_default()),
                Err(ApiError::Unavailable(reason)) => {
                    tracing::warn!(%reason, "could not list the source files");
                    Ok(BTreeSet::new())
                }
                Err(other) => Err(other),
            },
        }
    }
}

/// A listing of the source and when it was made.
#[derive(Debug)]
pub struct SharedListing {
    source: DataSource,
    latest: Mutex<Option<(Instant, Arc<Listed>)>>,
}

type Listed = BTreeMap<NaiveDate, DayNow>;

/// One day's files, as the last listing found them.
#[derive(Debug, Clone)]
struct DayNow {
    summary: FilesSummary,
    minutes: BTreeSet<u16>,
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
        let days = match self.source.list_days().await {
            Ok(days) => days,
            Err(error @ LoadError::Storage { .. }) => {
                let reason = without_data_dir(&error.to_string(), &self.source);
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
    let missing: BTreeSet<u16> = day.missing().times().iter().map(minute_of).collect();
    let minutes = (0..loader::MINUTES_PER_DAY as u16)
        .filter(|m| !missing.contains(m))
        .collect();
    let summary = day.summary()?;
    Ok((date, DayNow { summary, minutes }))
}
