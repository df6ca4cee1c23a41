//! The file ledger of declared datasets, `ops.dataset_files`: one row per file of a
//! dataset's pattern (by its path from the dataset's source) and per marker file, with
//! what it was when last seen and which job loaded it. The sample keeps its own ledger of
//! minutes (the rest of this module).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Stat, files_summary};
use loader::FilesSummary;

/// What a file is to its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// One of the day's files.
    File,
    /// The completeness rule's marker (`_SUCCESS`).
    Marker,
}

impl FileKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Marker => "marker",
        }
    }
}

/// A file a watcher found new or changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSeen {
    pub day: NaiveDate,
    pub path: String,
    pub kind: FileKind,
    pub stat: Stat,
    /// The footer's SHA-256 in hex; empty for a marker.
    pub fingerprint: String,
}

/// What the ledger holds of `dataset`'s files present now, by path, with their day: the
/// watcher's starting point.
pub async fn known(
    pool: &PgPool,
    dataset: &str,
) -> Result<HashMap<String, (NaiveDate, Stat)>, sqlx::Error> {
    let rows: Vec<(String, NaiveDate, i64, DateTime<Utc>)> = sqlx::query_as(
        "SELECT path, day, size, mtime FROM ops.dataset_files
         WHERE dataset = $1 AND gone_at IS NULL",
    )
    .bind(dataset)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(path, day, size, mtime)| (path, (day, Stat { size, mtime })))
        .collect())
}

/// The days of `dataset` the ledger has files of.
pub async fn days(pool: &PgPool, dataset: &str) -> Result<Vec<NaiveDate>, sqlx::Error> {
    sqlx::query_scalar("SELECT DISTINCT day FROM ops.dataset_files WHERE dataset = $1 ORDER BY 1")
        .bind(dataset)
        .fetch_all(pool)
        .await
}

/// Records what was seen: files new or changed, and files gone (by day and path). A row
/// whose file is as recorded is left alone, so that several watchers can record the same
/// file without moving its `changed_at`.
pub async fn record(
    pool: &PgPool,
    dataset: &str,
    seen: &[FileSeen],
    gone: &[(NaiveDate, String)],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    if !seen.is_empty() {
        sqlx::query(
            "INSERT INTO ops.dataset_files AS f
                 (dataset, day, path, kind, size, mtime, fingerprint)
             SELECT $1, u.* FROM UNNEST($2::date[], $3::text[], $4::text[], $5::int8[],
                                        $6::timestamptz[], $7::text[]) AS u
             ON CONFLICT (dataset, day, path) DO UPDATE SET kind = EXCLUDED.kind,
                 size = EXCLUDED.size, mtime = EXCLUDED.mtime,
                 fingerprint = EXCLUDED.fingerprint, gone_at = NULL,
                 changed_at = clock_timestamp()
             WHERE f.gone_at IS NOT NULL
                OR (f.size, f.mtime, f.fingerprint) IS DISTINCT FROM
                   (EXCLUDED.size, EXCLUDED.mtime, EXCLUDED.fingerprint)",
        )
        .bind(dataset)
        .bind(seen.iter().map(|f| f.day).collect::<Vec<_>>())
        .bind(seen.iter().map(|f| f.path.clone()).collect::<Vec<_>>())
        .bind(seen.iter().map(|f| f.kind.as_str()).collect::<Vec<_>>())
        .bind(seen.iter().map(|f| f.stat.size).collect::<Vec<_>>())
        .bind(seen.iter().map(|f| f.stat.mtime).collect::<Vec<_>>())
        .bind(
            seen.iter()
                .map(|f| f.fingerprint.clone())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    }
    if !gone.is_empty() {
        sqlx::query(
            "UPDATE ops.dataset_files SET gone_at = clock_timestamp(),
                 changed_at = clock_timestamp()
             WHERE dataset = $1 AND gone_at IS NULL
               AND (day, path) IN (SELECT * FROM UNNEST($2::date[], $3::text[]))",
        )
        .bind(dataset)
        .bind(gone.iter().map(|g| g.0).collect::<Vec<_>>())
        .bind(gone.iter().map(|g| g.1.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// A dataset's day as its ledger sees it.
#[derive(Debug, Clone, Copy)]
pub struct DatasetDay {
    /// The day's files present (its marker is not one): count, bytes, newest modification.
    pub files: FilesSummary,
    /// When one of its files (or its marker) last changed, and the database's clock now.
    pub last_change: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

/// The ledger's view of `day` of `dataset`, on `conn` (the settle check's transaction).
pub async fn day(
    conn: &mut PgConnection,
    dataset: &str,
    day: NaiveDate,
) -> Result<DatasetDay, sqlx::Error> {
    type Row = (
        i64,
        Option<i64>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        DateTime<Utc>,
    );
    let (files, bytes, newest, last_change, now): Row = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE gone_at IS NULL AND kind = 'file'),
                (sum(size) FILTER (WHERE gone_at IS NULL AND kind = 'file'))::int8,
                max(mtime) FILTER (WHERE gone_at IS NULL AND kind = 'file'),
                max(changed_at), clock_timestamp()
         FROM ops.dataset_files WHERE dataset = $1 AND day = $2",
    )
    .bind(dataset)
    .bind(day)
    .fetch_one(conn)
    .await?;
    Ok(DatasetDay {
        files: files_summary(files, bytes, newest),
        last_change,
        now,
    })
}

/// Records that `job` loaded the day's files, in the swap's transaction.
pub async fn loaded_by_job(
    conn: &mut PgConnection,
    dataset: &str,
    day: NaiveDate,
    job: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE ops.dataset_files SET
             job_id = CASE WHEN gone_at IS NULL THEN $3::uuid END,
             loaded_by = CASE WHEN gone_at IS NULL THEN 'job' END, loaded_rows = NULL,
             loaded_fingerprint = CASE WHEN gone_at IS NULL THEN fingerprint END,
             loaded_at = CASE WHEN gone_at IS NULL THEN clock_timestamp() END
         WHERE dataset = $1 AND day = $2",
    )
    .bind(dataset)
    .bind(day)
    .bind(job)
    .execute(conn)
    .await
    .map(|_| ())
}

/// A dataset's file waiting for its live append.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WaitingFile {
    pub day: NaiveDate,
    pub path: String,
}

/// The files of `dataset` no load or append has taken yet, of days neither loaded nor
/// whole (`whole_at` files, or a marker there: such a day is loaded whole soon), in order.
pub async fn waiting_for_append(
    pool: &PgPool,
    dataset: &str,
    whole_at: Option<i64>,
) -> Result<Vec<WaitingFile>, sqlx::Error> {
    sqlx::query_as(
        "SELECT f.day, f.path FROM ops.dataset_files f
         WHERE f.dataset = $1 AND f.kind = 'file' AND f.loaded_by IS NULL AND f.gone_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM dwh.day_loads d WHERE d.dataset = $1 AND d.day = f.day)
           AND f.day NOT IN (
               SELECT w.day FROM ops.dataset_files w
               WHERE w.dataset = $1 AND w.gone_at IS NULL
               GROUP BY w.day
               HAVING bool_or(w.kind = 'marker')
                   OR count(*) FILTER (WHERE w.kind = 'file') >= $2)
         ORDER BY f.day, f.path",
    )
    .bind(dataset)
    .bind(whole_at.unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await
}

/// Locks the ledger row of a file still waiting for its append, in the append's
/// transaction; `false` when it is no longer waiting or another instance has it.
pub async fn claim_for_append(
    conn: &mut PgConnection,
    dataset: &str,
    file: &WaitingFile,
) -> Result<bool, sqlx::Error> {
    let row: Option<String> = sqlx::query_scalar(
        "SELECT path FROM ops.dataset_files
         WHERE dataset = $1 AND day = $2 AND path = $3 AND loaded_by IS NULL AND gone_at IS NULL
         FOR UPDATE SKIP LOCKED",
    )
    .bind(dataset)
    .bind(file.day)
    .bind(&file.path)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

/// Records a live append, in the transaction that appended the rows.
pub async fn appended_live(
    conn: &mut PgConnection,
    dataset: &str,
    file: &WaitingFile,
    fingerprint: &str,
    rows: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE ops.dataset_files SET loaded_by = 'live', job_id = NULL,
             loaded_fingerprint = $4, loaded_rows = $5, loaded_at = clock_timestamp()
         WHERE dataset = $1 AND day = $2 AND path = $3",
    )
    .bind(dataset)
    .bind(file.day)
    .bind(&file.path)
    .bind(fingerprint)
    .bind(i64::try_from(rows).unwrap_or(i64::MAX))
    .execute(conn)
    .await
    .map(|_| ())
}
