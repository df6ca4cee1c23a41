//! The file ledger, `ops.minute_files`: every minute file the watchers have seen, what it
//! was when last seen (size, modification time, footer fingerprint), when it last
//! changed, and what put its rows in the warehouse (a live append or a job). Its storage
//! lies below its users: the watcher (`pipeline`) records, the queue marks what a job
//! loaded, the pages read ([`view`]).

pub mod dataset_files;
pub mod view;

use std::collections::HashMap;
use std::time::SystemTime;

use chrono::{DateTime, NaiveDate, Utc};
use loader::FilesSummary;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// A minute file's place: its day and its minute of the day (0–1439).
pub type MinuteKey = (NaiveDate, i16);

/// What decides whether a file must be fingerprinted again: its size and modification
/// time (to the microsecond, as the ledger keeps it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub size: i64,
    pub mtime: DateTime<Utc>,
}

impl Stat {
    /// A size and modification time, the time truncated to what the ledger stores.
    pub fn new(size: u64, modified: SystemTime) -> Self {
        let mtime = DateTime::<Utc>::from(modified);
        Self {
            size: i64::try_from(size).unwrap_or(i64::MAX),
            mtime: DateTime::from_timestamp_micros(mtime.timestamp_micros()).unwrap_or(mtime),
        }
    }

    /// The stat of a file's metadata.
    pub fn of(metadata: &std::fs::Metadata) -> std::io::Result<Self> {
        Ok(Self::new(metadata.len(), metadata.modified()?))
    }
}

/// One thing a watcher saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// The file is there, new or different from what the watcher knew.
    Present {
        key: MinuteKey,
        name: String,
        stat: Stat,
        fingerprint: String,
    },
    /// The file is no longer there.
    Gone { key: MinuteKey },
    /// The names of the day that are not its minute files are now these (none: the last
    /// went away).
    Strays { day: NaiveDate, names: Vec<String> },
}

impl Observation {
    pub fn day(&self) -> NaiveDate {
        match self {
            Self::Present { key, .. } | Self::Gone { key } => key.0,
            Self::Strays { day, .. } => *day,
        }
    }
}

/// What the ledger holds of the files present now, by place: the watcher's starting point.
pub async fn known(pool: &PgPool) -> Result<HashMap<MinuteKey, Stat>, sqlx::Error> {
    let rows: Vec<(NaiveDate, i16, i64, DateTime<Utc>)> = sqlx::query_as(
        "SELECT day, minute, size, mtime FROM ops.minute_files WHERE gone_at IS NULL",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(day, minute, size, mtime)| ((day, minute), Stat { size, mtime }))
        .collect())
}

/// The stray names of each day that has some, as last recorded.
pub async fn known_strays(
    pool: &PgPool,
) -> Result<HashMap<NaiveDate, std::collections::BTreeSet<String>>, sqlx::Error> {
    let rows: Vec<(NaiveDate, Vec<String>)> =
        sqlx::query_as("SELECT day, names FROM ops.day_strays WHERE names <> '{}'")
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(day, names)| (day, names.into_iter().collect()))
        .collect())
}

/// The days the ledger has files of.
pub async fn days(pool: &PgPool) -> Result<Vec<NaiveDate>, sqlx::Error> {
    sqlx::query_scalar("SELECT DISTINCT day FROM ops.minute_files ORDER BY 1")
        .fetch_all(pool)
        .await
}

/// Records what was seen. A row whose file is as recorded is left alone, so that any
/// number of watchers can record the same file without moving its `changed_at`.
pub async fn record(pool: &PgPool, seen: &[Observation]) -> Result<(), sqlx::Error> {
    let mut present = Present::default();
    let (mut gone_days, mut gone_minutes) = (Vec::new(), Vec::new());
    for observation in seen {
        match observation {
            Observation::Present {
                key,
                name,
                stat,
                fingerprint,
            } => present.push(*key, name, *stat, fingerprint),
            Observation::Gone { key } => {
                gone_days.push(key.0);
                gone_minutes.push(key.1);
            }
            Observation::Strays { .. } => {}
        }
    }
    let mut tx = pool.begin().await?;
    for observation in seen {
        if let Observation::Strays { day, names } = observation {
            sqlx::query(
                "INSERT INTO ops.day_strays AS s (day, names) VALUES ($1, $2)
                 ON CONFLICT (day) DO UPDATE SET names = EXCLUDED.names,
                     changed_at = clock_timestamp()
                 WHERE s.names IS DISTINCT FROM EXCLUDED.names",
            )
            .bind(day)
            .bind(names)
            .execute(&mut *tx)
            .await?;
        }
    }
    if !present.days.is_empty() {
        sqlx::query(
            "INSERT INTO ops.minute_files AS m
                 (day, minute, name, size, mtime, fingerprint, first_seen, changed_at)
             SELECT u.*, clock_timestamp(), clock_timestamp()
             FROM UNNEST($1::date[], $2::int2[], $3::text[], $4::int8[], $5::timestamptz[],
                         $6::text[]) AS u
             ON CONFLICT (day, minute) DO UPDATE SET name = EXCLUDED.name,
                 size = EXCLUDED.size, mtime = EXCLUDED.mtime,
                 fingerprint = EXCLUDED.fingerprint, gone_at = NULL,
                 changed_at = clock_timestamp()
             WHERE m.gone_at IS NOT NULL
                OR (m.name, m.size, m.mtime, m.fingerprint) IS DISTINCT FROM
                   (EXCLUDED.name, EXCLUDED.size, EXCLUDED.mtime, EXCLUDED.fingerprint)",
        )
        .bind(&present.days)
        .bind(&present.minutes)
        .bind(&present.names)
        .bind(&present.sizes)
        .bind(&present.mtimes)
        .bind(&present.fingerprints)
        .execute(&mut *tx)
        .await?;
    }
    if !gone_days.is_empty() {
        sqlx::query(
            "UPDATE ops.minute_files SET gone_at = clock_timestamp(),
                 changed_at = clock_timestamp()
             WHERE (day, minute) IN (SELECT * FROM UNNEST($1::date[], $2::int2[]))
               AND gone_at IS NULL",
        )
        .bind(&gone_days)
        .bind(&gone_minutes)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// The columns of [`record`]'s insert.
#[derive(Default)]
struct Present {
    days: Vec<NaiveDate>,
    minutes: Vec<i16>,
    names: Vec<String>,
    sizes: Vec<i64>,
    mtimes: Vec<DateTime<Utc>>,
    fingerprints: Vec<String>,
}

impl Present {
    fn push(&mut self, key: MinuteKey, name: &str, stat: Stat, fingerprint: &str) {
        self.days.push(key.0);
        self.minutes.push(key.1);
        self.names.push(name.to_owned());
        self.sizes.push(stat.size);
        self.mtimes.push(stat.mtime);
        self.fingerprints.push(fingerprint.to_owned());
    }
}

/// A day as the ledger sees it.
#[derive(Debug, Clone, Copy)]
pub struct LedgerDay {
    /// The files present: how many, their bytes, the newest modification.
    pub files: FilesSummary,
    /// When one of its files (or its stray names) last changed, and the database's clock
    /// now.
    pub last_change: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
    /// Names of the day that are not its minute files: its load would be refused.
    pub strays: usize,
}

/// The ledger's view of `day`, on `conn` (the settle check's transaction).
pub async fn day(conn: &mut PgConnection, day: NaiveDate) -> Result<LedgerDay, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        files: i64,
        bytes: Option<i64>,
        newest: Option<DateTime<Utc>>,
        last_change: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        strays: i32,
    }
    let row: Row = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE m.gone_at IS NULL) AS files,
                (sum(m.size) FILTER (WHERE m.gone_at IS NULL))::int8 AS bytes,
                max(m.mtime) FILTER (WHERE m.gone_at IS NULL) AS newest,
                greatest(max(m.changed_at), (SELECT s.changed_at FROM ops.day_strays s
                                              WHERE s.day = $1)) AS last_change,
                clock_timestamp() AS now,
                coalesce((SELECT cardinality(s.names) FROM ops.day_strays s
                          WHERE s.day = $1), 0) AS strays
         FROM ops.minute_files m WHERE m.day = $1",
    )
    .bind(day)
    .fetch_one(conn)
    .await?;
    Ok(LedgerDay {
        files: files_summary(row.files, row.bytes, row.newest),
        last_change: row.last_change,
        now: row.now,
        strays: usize::try_from(row.strays).unwrap_or(0),
    })
}

/// A day's files as the ledger sums them (`count(*)`, `sum(size)`, `max(mtime)` of the
/// files not gone; the sums are null for a day without any).
pub(crate) fn files_summary(
    files: i64,
    bytes: Option<i64>,
    newest: Option<DateTime<Utc>>,
) -> FilesSummary {
    FilesSummary {
        files: usize::try_from(files).unwrap_or(0),
        bytes: bytes.and_then(|b| u64::try_from(b).ok()).unwrap_or(0),
        newest: newest.map(SystemTime::from),
    }
}

/// A file waiting to be appended live.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Unloaded {
    pub day: NaiveDate,
    pub minute: i16,
    pub name: String,
}

/// The files present that nothing has loaded, of days neither loaded nor complete (of
/// `days` only, when given), in order. A complete day is left to its load: appending a
/// whole day minute by minute (a day copied in at once) would only delay it.
pub async fn unloaded(
    pool: &PgPool,
    days: Option<&[NaiveDate]>,
) -> Result<Vec<Unloaded>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.day, m.minute, m.name FROM ops.minute_files m
         WHERE m.loaded_by IS NULL AND m.gone_at IS NULL
           AND ($1::date[] IS NULL OR m.day = ANY($1))
           AND NOT EXISTS (SELECT 1 FROM dwh.day_loads d
                           WHERE d.day = m.day AND d.dataset = 'sample')
           AND m.day NOT IN (
               SELECT c.day FROM ops.minute_files c
               WHERE c.gone_at IS NULL AND ($1::date[] IS NULL OR c.day = ANY($1))
               GROUP BY c.day HAVING count(*) >= 1440)
         ORDER BY m.day, m.minute",
    )
    .bind(days)
    .fetch_all(pool)
    .await
}

/// Locks the ledger row of a file still waiting to be appended, in the append's
/// transaction; `false` when it is no longer waiting or another instance has it.
pub async fn claim_for_append(
    conn: &mut PgConnection,
    key: MinuteKey,
) -> Result<bool, sqlx::Error> {
    let row: Option<i16> = sqlx::query_scalar(
        "SELECT minute FROM ops.minute_files
         WHERE day = $1 AND minute = $2 AND loaded_by IS NULL AND gone_at IS NULL
         FOR UPDATE SKIP LOCKED",
    )
    .bind(key.0)
    .bind(key.1)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

/// Records a live append, in the transaction that appended the rows.
pub async fn appended_live(
    conn: &mut PgConnection,
    key: MinuteKey,
    fingerprint: &str,
    rows: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE ops.minute_files SET loaded_by = 'live', job_id = NULL,
             loaded_fingerprint = $3, loaded_rows = $4, loaded_at = clock_timestamp()
         WHERE day = $1 AND minute = $2",
    )
    .bind(key.0)
    .bind(key.1)
    .bind(fingerprint)
    .bind(i64::try_from(rows).unwrap_or(i64::MAX))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Records that `job` loaded the day's files, in the swap's transaction: the files
/// present are now the job's (their live rows, if any, were replaced by the day), and
/// the rows of files gone are no longer in the table.
pub async fn loaded_by_job(
    conn: &mut PgConnection,
    dataset: &str,
    day: NaiveDate,
    job: Uuid,
) -> Result<(), sqlx::Error> {
    if dataset != loader::SAMPLE_DATASET {
        return dataset_files::loaded_by_job(conn, dataset, day, job).await;
    }
    sqlx::query(
        "UPDATE ops.minute_files SET
             loaded_by = CASE WHEN gone_at IS NULL THEN 'job' END,
             job_id = CASE WHEN gone_at IS NULL THEN $2::uuid END,
             loaded_fingerprint = CASE WHEN gone_at IS NULL THEN fingerprint END,
             loaded_rows = NULL,
             loaded_at = CASE WHEN gone_at IS NULL THEN clock_timestamp() END
         WHERE day = $1",
    )
    .bind(day)
    .bind(job)
    .execute(conn)
    .await
    .map(|_| ())
}
