//! What the pages read of the file ledger: each day's files now and its live minutes
//! (`GET /days`), each minute of one day (its page's strip).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use loader::{FilesSummary, Layout};
use sqlx::PgPool;

use crate::catalog::ServedDataset;

/// The live files of a day (the sample's minutes, a dataset's hours or parts): how many,
/// their rows, and whether one was rewritten with other content after it was appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LiveDay {
    pub minutes: i64,
    pub rows: i64,
    pub rewritten: bool,
}

/// The live files of each day of `from..=to` of `dataset` that has any.
pub async fn live_days(
    pool: &PgPool,
    dataset: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashMap<NaiveDate, LiveDay>, sqlx::Error> {
    let sql = if dataset == loader::SAMPLE_DATASET {
        "SELECT day, count(*), sum(loaded_rows)::int8,
                bool_or(loaded_fingerprint <> fingerprint OR gone_at IS NOT NULL)
         FROM ops.minute_files
         WHERE day BETWEEN $1 AND $2 AND loaded_by = 'live' AND $3::text IS NOT NULL
         GROUP BY day"
    } else {
        "SELECT day, count(*), sum(loaded_rows)::int8,
                bool_or(loaded_fingerprint <> fingerprint OR gone_at IS NOT NULL)
         FROM ops.dataset_files
         WHERE dataset = $3 AND day BETWEEN $1 AND $2 AND loaded_by = 'live'
         GROUP BY day"
    };
    let rows: Vec<(NaiveDate, i64, i64, bool)> = sqlx::query_as(sql)
        .bind(from)
        .bind(to)
        .bind(dataset)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(day, minutes, rows, rewritten)| {
            let live = LiveDay {
                minutes,
                rows,
                rewritten,
            };
            (day, live)
        })
        .collect())
}

/// A minute of a day, as the ledger has it (for the day's page).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MinuteRow {
    pub minute: i16,
    pub loaded_by: Option<String>,
    pub fingerprint: String,
    pub loaded_fingerprint: Option<String>,
    pub gone: bool,
}

impl MinuteRow {
    /// Appended live, then rewritten with other content or removed.
    pub fn live_rewritten(&self) -> bool {
        self.loaded_by.as_deref() == Some("live")
            && (self.gone || self.loaded_fingerprint.as_deref() != Some(self.fingerprint.as_str()))
    }
}

/// The ledger's rows of `day`, by minute of the day.
pub async fn minutes_of_day(
    pool: &PgPool,
    day: NaiveDate,
) -> Result<HashMap<u16, MinuteRow>, sqlx::Error> {
    let rows: Vec<MinuteRow> = sqlx::query_as(
        "SELECT minute, loaded_by, fingerprint, loaded_fingerprint, gone_at IS NOT NULL AS gone
         FROM ops.minute_files WHERE day = $1",
    )
    .bind(day)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| Some((u16::try_from(row.minute).ok()?, row)))
        .collect())
}

/// A day, its files' count, bytes and newest modification, as the ledger sums them.
type DaySums = (NaiveDate, i64, Option<i64>, Option<DateTime<Utc>>);

/// What the ledger has of each day of `from..=to` of `dataset`: its files that are not
/// gone, their bytes and newest modification (a marker file is not one of them).
pub async fn day_files(
    pool: &PgPool,
    dataset: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BTreeMap<NaiveDate, FilesSummary>, sqlx::Error> {
    let sql = if dataset == loader::SAMPLE_DATASET {
        "SELECT day, count(*), sum(size)::int8, max(mtime)
         FROM ops.minute_files
         WHERE day BETWEEN $1 AND $2 AND gone_at IS NULL AND $3::text IS NOT NULL
         GROUP BY day"
    } else {
        "SELECT day, count(*), sum(size)::int8, max(mtime)
         FROM ops.dataset_files
         WHERE dataset = $3 AND day BETWEEN $1 AND $2 AND gone_at IS NULL AND kind = 'file'
         GROUP BY day"
    };
    let rows: Vec<DaySums> = sqlx::query_as(sql)
        .bind(from)
        .bind(to)
        .bind(dataset)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(day, files, bytes, newest)| (day, super::files_summary(files, bytes, newest)))
        .collect())
}

/// The days of `from..=to` of `dataset` whose marker file is there now, as the
/// watcher recorded it (without `WATCH=on` the ledger has none).
pub async fn marked_days(
    pool: &PgPool,
    dataset: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BTreeSet<NaiveDate>, sqlx::Error> {
    let days: Vec<NaiveDate> = sqlx::query_scalar(
        "SELECT day FROM ops.dataset_files
         WHERE dataset = $1 AND day BETWEEN $2 AND $3 AND kind = 'marker' AND gone_at IS NULL",
    )
    .bind(dataset)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    Ok(days.into_iter().collect())
}

/// The slots of `day` of `dataset` that have a file now, in its cadence (see
/// `queries::files`).
pub async fn slots_present(
    pool: &PgPool,
    dataset: &ServedDataset,
    day: NaiveDate,
) -> Result<BTreeSet<u16>, sqlx::Error> {
    let pattern = match &dataset.dataset.layout {
        Layout::SampleMinutes => return minutes_present(pool, day).await,
        Layout::Pattern { pattern, .. } => pattern,
    };
    let paths: Vec<String> = sqlx::query_scalar(
        "SELECT path FROM ops.dataset_files
         WHERE dataset = $1 AND day = $2 AND gone_at IS NULL AND kind = 'file' ORDER BY path",
    )
    .bind(dataset.name())
    .bind(day)
    .fetch_all(pool)
    .await?;
    Ok(paths
        .iter()
        .enumerate()
        .filter_map(|(n, path)| {
            let matched = pattern.match_path(path)?;
            // A globbed day's parts are numbered in name order, as its load numbers them.
            matched.slot.or(u16::try_from(n).ok())
        })
        .collect())
}

/// The minutes of `day` that have a file now (0 is 00:00).
async fn minutes_present(pool: &PgPool, day: NaiveDate) -> Result<BTreeSet<u16>, sqlx::Error> {
    let minutes: Vec<i16> = sqlx::query_scalar(
        "SELECT minute FROM ops.minute_files WHERE day = $1 AND gone_at IS NULL",
    )
    .bind(day)
    .fetch_all(pool)
    .await?;
    Ok(minutes
        .into_iter()
        .filter_map(|m| u16::try_from(m).ok())
        .collect())
}
