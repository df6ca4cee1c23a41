//! The staging tables, the per-day lock, and the swap that makes a load visible.
//!
//! Layout: each day is a partition of `dwh.data_sample`, `dwh.data_sample_pYYYYMMDD`, which
//! is itself partitioned by the same key and holds the day's rows in one or more leaves
//! (`data_sample_pYYYYMMDD_<id>_<k>`), each covering a consecutive part of the day. The
//! extra level is what keeps the swap local: replacing the leaves locks only the day's
//! table, so queries on other days — and the parent — are never blocked, where detaching a
//! partition of the parent itself would take an ACCESS EXCLUSIVE lock on the whole table
//! (and queue every reader behind a waiting swap).
//!
//! A load copies into `dwh.data_sample_stage_YYYYMMDD_<id>_<k>`, plain tables with the
//! table's columns and a CHECK matching their part's bounds (so attaching them needs no
//! rescan); several parts let parallel COPYs write without contending (see `plan`). The
//! swap is one short transaction: detach the day's old leaves and rename them aside
//! (`data_sample_retired_…`), rename the staging tables to the new leaves, attach them.
//! Readers of the day wait for that transaction only; the swap itself waits at most
//! `lock_timeout` for them and then retries, rather than queueing them behind a long
//! wait. The old rows are dropped only after the commit: unlinking half a gigabyte of
//! files takes ~100 ms that readers need not wait for.

use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
// Statements go through `Executor::execute(&str)` (the simple query protocol: several
// statements in one round trip) rather than `sqlx::raw_sql(..).execute(..)`, whose future
// rustc cannot prove `Send` for every lifetime, which would make `load_day` unspawnable.
use sqlx::{Connection, Executor, PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::error::LoadError;
use crate::table;

const STAGE_PREFIX: &str = "data_sample_stage_";
/// Old partitions between the swap and their drop.
const RETIRED_PREFIX: &str = "data_sample_retired_";
/// First key of the two-key advisory lock that guards one day ("dwld").
const DAY_LOCK_CLASS: i32 = 0x6477_6C64;
/// SQLSTATE `lock_not_available`, raised when `lock_timeout` expires.
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// The partition of `day`: `data_sample_pYYYYMMDD` in schema `dwh`.
pub fn partition_name(day: NaiveDate) -> String {
    format!("data_sample_p{}", day.format("%Y%m%d"))
}

/// `[day 00:00, next day 00:00)`.
pub fn day_bounds(day: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
    let start = day.and_time(NaiveTime::MIN);
    (start, start + TimeDelta::days(1))
}

fn day_lock_key(day: NaiveDate) -> i32 {
    day.num_days_from_ce()
}

/// A session-level advisory lock on one day, held on a connection of its own. The
/// connection is detached from the pool, so if the load is dropped or the process dies the
/// connection closes and the server releases the lock: it can never leak into the pool.
#[derive(Debug)]
pub struct DayLock {
    conn: PgConnection,
    day: NaiveDate,
}

impl DayLock {
    /// Takes the day's lock, or `None` when another session holds it.
    pub async fn try_acquire(pool: &PgPool, day: NaiveDate) -> Result<Option<Self>, sqlx::Error> {
        let mut conn = pool.acquire().await?.detach();
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
            .bind(DAY_LOCK_CLASS)
            .bind(day_lock_key(day))
            .fetch_one(&mut conn)
            .await?;
        Ok(locked.then_some(Self { conn, day }))
    }

    pub fn connection(&mut self) -> &mut PgConnection {
        &mut self.conn
    }

    pub fn day(&self) -> NaiveDate {
        self.day
    }

    /// Releases the lock and closes its connection.
    pub async fn release(self) -> Result<(), sqlx::Error> {
        self.conn.close().await
    }
}

/// The staging tables being filled for one day: one per part of the day (see
/// `plan`), each a plain table with a CHECK on its part's bounds.
#[derive(Debug, Clone)]
pub struct Staging {
    day: NaiveDate,
    /// Random, names this load's tables: staging, leaves, retired ones.
    id: String,
    tables: Vec<StageTable>,
}

/// One staging table and the part of the day it holds, `[start, end)`.
#[derive(Debug, Clone)]
pub struct StageTable {
    name: String,
    start: NaiveDateTime,
    end: NaiveDateTime,
}

impl StageTable {
    /// `dwh.<name>`.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", table::SCHEMA, self.name)
    }
}

impl Staging {
    /// Creates (and commits) one empty staging table for each of `parts`, consecutive
    /// ranges covering `day`, so that several COPY connections can fill them.
    pub async fn create(
        conn: &mut PgConnection,
        day: NaiveDate,
        parts: &[(NaiveDateTime, NaiveDateTime)],
    ) -> Result<Self, sqlx::Error> {
        let id = Uuid::new_v4().simple().to_string()[..12].to_owned();
        let tables: Vec<StageTable> = parts
            .iter()
            .enumerate()
            .map(|(k, &(start, end))| StageTable {
                name: format!("{STAGE_PREFIX}{}_{id}_{}", day.format("%Y%m%d"), k + 1),
                start,
                end,
            })
            .collect();
        let sql: String = tables
            .iter()
            .map(|t| {
                format!(
                    "CREATE TABLE {qualified} (
                         LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
                         CONSTRAINT {name}_range CHECK ({column} >= TIMESTAMP '{start}' AND {column} < TIMESTAMP '{end}')
                     );",
                    qualified = t.qualified_name(),
                    name = t.name,
                    parent = table::NAME,
                    column = table::PARTITION_COLUMN,
                    start = t.start,
                    end = t.end,
                )
            })
            .collect();
        conn.execute(sql.as_str()).await?;
        Ok(Self { day, id, tables })
    }

    pub fn day(&self) -> NaiveDate {
        self.day
    }

    pub fn tables(&self) -> &[StageTable] {
        &self.tables
    }

    /// `YYYYMMDD_<id>`: what names the tables this load leaves (its leaves, retired ones).
    fn suffix(&self) -> String {
        format!("{}_{}", self.day.format("%Y%m%d"), self.id)
    }

    /// The tables' qualified names, for messages.
    pub fn names(&self) -> String {
        let names: Vec<String> = self.tables.iter().map(StageTable::qualified_name).collect();
        names.join(", ")
    }

    pub async fn drop_tables(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        let sql = format!("DROP TABLE IF EXISTS {}", self.names());
        conn.execute(sql.as_str()).await.map(|_| ())
    }

    /// Refreshes planner statistics, so the day is queryable well as soon as it is visible.
    pub async fn analyze(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        let sql = format!("ANALYZE {}", self.names());
        conn.execute(sql.as_str()).await.map(|_| ())
    }
}

/// What the swap records about the new day in `dwh.day_loads`.
#[derive(Debug, Clone)]
pub struct DayLoad {
    pub rows: i64,
    pub files: i32,
    pub bytes: i64,
    pub job_id: Option<Uuid>,
}

/// How the swap went.
#[derive(Debug, Clone, Copy)]
pub struct SwapOutcome {
    /// Time from BEGIN to COMMIT of the successful attempt: the longest any reader of the
    /// table waited on this load.
    pub duration: Duration,
    pub attempts: u32,
    /// Rows of the day before the swap, when the day was loaded before.
    pub replaced_rows: Option<i64>,
}

/// What one swap transaction left to clean up.
struct Swapped {
    replaced_rows: Option<i64>,
    retired: Vec<String>,
}

/// Swap settings.
#[derive(Debug, Clone, Copy)]
pub struct SwapPolicy {
    pub lock_timeout: Duration,
    pub attempts: u32,
}

/// Replaces the day's leaves with `staging`'s tables in one transaction, retrying when
/// the locks are not granted within `lock_timeout`.
pub async fn swap_in(
    pool: &PgPool,
    conn: &mut PgConnection,
    staging: &Staging,
    load: &DayLoad,
    policy: SwapPolicy,
    cancel: &CancellationToken,
) -> Result<SwapOutcome, LoadError> {
    let attempts = policy.attempts.max(1);
    for attempt in 1..=attempts {
        let started = Instant::now();
        match try_swap(conn, staging, load, policy.lock_timeout).await {
            Ok(swapped) => {
                let duration = started.elapsed();
                drop_retired(pool, &swapped.retired).await;
                return Ok(SwapOutcome {
                    duration,
                    attempts: attempt,
                    replaced_rows: swapped.replaced_rows,
                });
            }
            Err(error) if is_lock_timeout(&error) => {
                // Waiting for readers to let go is the one long wait after the COPY; a
                // cancel that arrives meanwhile is honoured before the next attempt.
                if cancel.is_cancelled() {
                    return Err(LoadError::Cancelled { date: staging.day });
                }
                tracing::warn!(day = %staging.day, attempt, "swap locks not granted in time; retrying");
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt.min(10)))).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
    Err(LoadError::SwapLockTimeout {
        date: staging.day,
        attempts,
    })
}

/// Drops the old leaves, outside the swap: their rows are no longer visible to anyone.
/// Each on a connection of its own, because freeing a table's files is I/O-bound and the
/// drops overlap. If one fails, `collect_garbage` (or the next load of the day) drops it.
async fn drop_retired(pool: &PgPool, retired: &[String]) {
    let drops = retired.iter().map(|name| async move {
        let mut conn = pool.acquire().await?;
        drop_named(&mut conn, name).await
    });
    for (name, result) in retired.iter().zip(futures::future::join_all(drops).await) {
        if let Err(error) = result {
            tracing::warn!(%error, table = %name, "could not drop the replaced partition");
        }
    }
}

fn is_lock_timeout(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == LOCK_NOT_AVAILABLE)
}

async fn try_swap(
    conn: &mut PgConnection,
    staging: &Staging,
    load: &DayLoad,
    lock_timeout: Duration,
) -> Result<Swapped, sqlx::Error> {
    let day = staging.day;
    let partition = partition_name(day);
    let mut tx = conn.begin().await?;
    let set_timeout = format!("SET LOCAL lock_timeout = '{}ms'", lock_timeout.as_millis());
    (&mut *tx).execute(set_timeout.as_str()).await?;
    let replaced_rows: Option<i64> =
        sqlx::query_scalar("SELECT rows FROM dwh.day_loads WHERE day = $1 FOR UPDATE")
            .bind(day)
            .fetch_optional(&mut *tx)
            .await?;
    let day_table = format!("{}.{partition}", table::SCHEMA);
    let (mut sql, retired) = clear_day_table(&mut tx, staging, &day_table).await?;
    for (k, stage) in staging.tables.iter().enumerate() {
        let leaf = format!("{partition}_{}_{}", staging.id, k + 1);
        sql.push_str(&format!(
            "ALTER TABLE {stage} RENAME TO {leaf};
             ALTER TABLE {day_table} ATTACH PARTITION {schema}.{leaf}
                 FOR VALUES FROM ('{start}') TO ('{end}');",
            stage = stage.qualified_name(),
            schema = table::SCHEMA,
            start = stage.start,
            end = stage.end,
        ));
    }
    (&mut *tx).execute(sql.as_str()).await?;
    sqlx::query(
        "INSERT INTO dwh.day_loads (day, partition, rows, files, bytes, job_id, loaded_at)
         VALUES ($1, $2, $3, $4, $5, $6, now())
         ON CONFLICT (day) DO UPDATE SET partition = EXCLUDED.partition, rows = EXCLUDED.rows,
             files = EXCLUDED.files, bytes = EXCLUDED.bytes, job_id = EXCLUDED.job_id,
             loaded_at = EXCLUDED.loaded_at",
    )
    .bind(day)
    .bind(&partition)
    .bind(load.rows)
    .bind(load.files)
    .bind(load.bytes)
    .bind(load.job_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Swapped {
        replaced_rows,
        retired,
    })
}

/// The statements that leave the day's table (`day_table`) existing and empty, ready for
/// the new leaves, and the names its old leaves are renamed to. Runs inside the swap.
async fn clear_day_table(
    tx: &mut PgConnection,
    staging: &Staging,
    day_table: &str,
) -> Result<(String, Vec<String>), sqlx::Error> {
    let layout: Option<String> =
        sqlx::query_scalar("SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)")
            .bind(day_table)
            .fetch_optional(&mut *tx)
            .await?;
    let retired_name = |n: usize| match n {
        0 => format!("{RETIRED_PREFIX}{}", staging.suffix()),
        n => format!("{RETIRED_PREFIX}{}_{n}", staging.suffix()),
    };
    let mut sql = String::new();
    let mut retired = Vec::new();
    match layout.as_deref() {
        // The day's table exists: take its current rows out (only the day's table is
        // locked, not the parent).
        Some("p") => {
            let leaves: Vec<String> = sqlx::query_scalar(
                "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = to_regclass($1) ORDER BY 1",
            )
            .bind(day_table)
            .fetch_all(&mut *tx)
            .await?;
            for leaf in leaves {
                let name = retired_name(retired.len());
                sql.push_str(&format!(
                    "ALTER TABLE {day_table} DETACH PARTITION {schema}.{leaf};
                     ALTER TABLE {schema}.{leaf} RENAME TO {name};",
                    schema = table::SCHEMA,
                ));
                retired.push(name);
            }
        }
        // First load of the day, or a day loaded as a plain partition by an earlier
        // version: (re)create the day's table. Attaching it takes SHARE UPDATE EXCLUSIVE
        // on the parent, which readers do not conflict with.
        other => {
            if other.is_some() {
                let name = retired_name(0);
                sql.push_str(&format!(
                    "ALTER TABLE {parent} DETACH PARTITION {day_table};
                     ALTER TABLE {day_table} RENAME TO {name};",
                    parent = table::NAME,
                ));
                retired.push(name);
            }
            let (start, end) = day_bounds(staging.day);
            sql.push_str(&format!(
                "CREATE TABLE {day_table} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
                     PARTITION BY RANGE ({column});
                 ALTER TABLE {parent} ATTACH PARTITION {day_table}
                     FOR VALUES FROM ('{start}') TO ('{end}');",
                parent = table::NAME,
                column = table::PARTITION_COLUMN,
            ));
        }
    }
    Ok((sql, retired))
}

/// Staging tables and retired partitions in `dwh`, with the day each one is for.
async fn staging_tables(conn: &mut PgConnection) -> Result<Vec<(String, NaiveDate)>, sqlx::Error> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind = 'r'
           AND (starts_with(c.relname::text, $2) OR starts_with(c.relname::text, $3))",
    )
    .bind(table::SCHEMA)
    .bind(STAGE_PREFIX)
    .bind(RETIRED_PREFIX)
    .fetch_all(conn)
    .await?;
    Ok(names
        .into_iter()
        .filter_map(|name| {
            let rest = name
                .strip_prefix(STAGE_PREFIX)
                .or_else(|| name.strip_prefix(RETIRED_PREFIX))?;
            let day = NaiveDate::parse_from_str(rest.get(..8)?, "%Y%m%d").ok()?;
            Some((name, day))
        })
        .collect())
}

/// Drops the staging tables (and retired partitions) of `lock`'s day: with the day's lock
/// held, none of them can belong to a running load, so they are leftovers of a killed one.
pub async fn drop_leftovers_for_day(lock: &mut DayLock) -> Result<Vec<String>, sqlx::Error> {
    let day = lock.day();
    let mut dropped = Vec::new();
    for (name, table_day) in staging_tables(lock.connection()).await? {
        if table_day == day {
            drop_named(lock.connection(), &name).await?;
            dropped.push(name);
        }
    }
    Ok(dropped)
}

/// Drops every staging table whose day has no load running (in any process sharing the
/// database): leftovers of loads that were killed. Returns the dropped tables' names.
pub async fn collect_garbage(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut days: Vec<NaiveDate> = staging_tables(&mut conn)
        .await?
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    drop(conn);
    days.sort();
    days.dedup();
    let mut dropped = Vec::new();
    for day in days {
        if let Some(mut lock) = DayLock::try_acquire(pool, day).await? {
            dropped.extend(drop_leftovers_for_day(&mut lock).await?);
            lock.release().await?;
        }
    }
    if !dropped.is_empty() {
        tracing::info!(tables = ?dropped, "dropped staging tables left by interrupted loads");
    }
    Ok(dropped)
}

async fn drop_named(conn: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    let sql = format!("DROP TABLE IF EXISTS {}.{name}", table::SCHEMA);
    conn.execute(sql.as_str()).await.map(|_| ())
}
