//! The swap: the one short transaction that makes a load visible.
//!
//! Layout: each day is a partition of `dwh.data_sample`, `dwh.data_sample_pYYYYMMDD` (the
//! day's table), which is itself partitioned by the same key and holds the day's rows in
//! one or more leaves (`data_sample_pYYYYMMDD_<id>_<k>`), one per part of the day. The
//! extra level is what keeps the swap local: replacing the leaves locks only the day's
//! table, so queries on other days — and the parent — are never blocked, where detaching a
//! partition of the parent itself would take an ACCESS EXCLUSIVE lock on the whole table
//! (and queue every reader behind a waiting swap).
//!
//! The swap detaches the day's old leaves and moves them into schema `dwh_history` as the
//! day's previous version (see `versions`; with no versions kept, it retires them into the
//! history, `data_sample_retired_…`, to be dropped), renames the staging tables to the new
//! leaves and attaches them, and records the day in `dwh.day_loads` and its new version in
//! `dwh_history.versions`, all in one transaction. Readers of the day wait for that
//! transaction only; the swap itself waits at most `lock_timeout` for them and then
//! retries, rather than queueing them behind a long wait. Old rows are not dropped by the
//! swap nor after it: freeing half a gigabyte of files takes ~120 ms that neither readers
//! nor the load's caller need wait for (see `retired`).

use std::time::{Duration, Instant};

use chrono::NaiveTime;
use futures::future::BoxFuture;
use sqlx::{Connection, Executor, PgConnection};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::copy::names::NameCounts;
use crate::error::LoadError;
use crate::publish::audit::AuditResult;
use crate::publish::swap_check::{self, SwapCheck, SwapSummary};
use crate::publish::versions::{self, Leaf, Retention};
use crate::warehouse::day::Day;
use crate::warehouse::indexes;
use crate::warehouse::retired::Dispose;
use crate::warehouse::shrink_guard::guard_shrink;
use crate::warehouse::staging::Staging;
use crate::warehouse::table;

/// SQLSTATE `lock_not_available`, raised when `lock_timeout` expires.
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// What the swap records about the new day in `dwh.day_loads`.
#[derive(Debug, Clone)]
pub(crate) struct DayLoad {
    pub rows: i64,
    pub files: i32,
    pub bytes: i64,
    /// Minutes of the day without a file; empty for a whole day.
    pub missing_minutes: Vec<NaiveTime>,
    /// Counted while the rows streamed (the sample's name columns), kept so that reading
    /// them needs no scan; `None` for other datasets.
    pub names: Option<NameCounts>,
    pub job_id: Option<Uuid>,
    /// The audit's results, recorded with the new version.
    pub audits: Vec<AuditResult>,
}

/// How the swap went.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SwapOutcome {
    /// Time from BEGIN to COMMIT of the successful attempt: the longest any reader of the
    /// table waited on this load.
    pub duration: Duration,
    pub attempts: u32,
    /// Rows of the day before the swap, when the day was loaded before.
    pub replaced_rows: Option<i64>,
    /// The day's version the swap made current.
    pub version: i32,
    /// After the commit: retiring the versions beyond retention.
    pub after_commit: Duration,
}

/// What one swap transaction did.
pub(crate) struct Swapped {
    pub replaced_rows: Option<i64>,
    pub version: i32,
}

/// Swap settings.
#[derive(Debug, Clone)]
pub(crate) struct SwapPolicy {
    pub lock_timeout: Duration,
    pub attempts: u32,
    /// The new day must keep at least this share of the rows it replaces; 0: no guard.
    pub shrink_guard_percent: u8,
    pub check: Option<SwapCheck>,
    pub retention: Retention,
}

/// Replaces the day's leaves with `staging`'s tables in one transaction on `conn` (the
/// day lock's connection), retrying when the locks are not granted within `lock_timeout`.
pub(crate) async fn swap_in(
    conn: &mut PgConnection,
    staging: &Staging,
    load: &DayLoad,
    policy: &SwapPolicy,
    cancel: &CancellationToken,
) -> Result<SwapOutcome, LoadError> {
    let attempt = LoadSwap {
        staging,
        load,
        policy,
    };
    retrying(conn, staging.day(), policy, cancel, &attempt).await
}

/// One attempt of a swap transaction, as [`retrying`] runs it: a load's, or a rollback's.
pub(crate) trait SwapAttempt: Sync {
    fn run<'c>(&'c self, conn: &'c mut PgConnection) -> BoxFuture<'c, Result<Swapped, LoadError>>;
}

/// A load's swap: its staging tables in, the day's old leaves out.
struct LoadSwap<'a> {
    staging: &'a Staging,
    load: &'a DayLoad,
    policy: &'a SwapPolicy,
}

impl SwapAttempt for LoadSwap<'_> {
    fn run<'c>(&'c self, conn: &'c mut PgConnection) -> BoxFuture<'c, Result<Swapped, LoadError>> {
        Box::pin(try_swap(conn, self.staging, self.load, self.policy))
    }
}

/// Runs `attempt` until it commits, backing off while its locks are not granted within
/// `lock_timeout`; then retires the day's versions beyond retention (after the commit:
/// readers need not wait for it; dropping them is left to `retired`).
pub(crate) async fn retrying(
    conn: &mut PgConnection,
    day: &Day,
    policy: &SwapPolicy,
    cancel: &CancellationToken,
    attempt: &dyn SwapAttempt,
) -> Result<SwapOutcome, LoadError> {
    let date = day.date();
    let attempts = policy.attempts.max(1);
    for n in 1..=attempts {
        let started = Instant::now();
        match attempt.run(&mut *conn).await {
            Ok(swapped) => {
                let duration = started.elapsed();
                let committed = Instant::now();
                let retiring = versions::prune_day(conn, day, policy.retention, Dispose::Retire);
                if let Err(error) = retiring.await {
                    tracing::warn!(%error, day = %date, "could not prune the day's versions; the collector will");
                }
                return Ok(SwapOutcome {
                    duration,
                    attempts: n,
                    replaced_rows: swapped.replaced_rows,
                    version: swapped.version,
                    after_commit: committed.elapsed(),
                });
            }
            Err(LoadError::Database(error)) if is_lock_timeout(&error) => {
                // Waiting for readers to let go is the one long wait after the COPY; a
                // cancel that arrives meanwhile is honoured before the next attempt.
                if cancel.is_cancelled() {
                    return Err(LoadError::Cancelled { date });
                }
                tracing::warn!(day = %date, attempt = n, "swap locks not granted in time; retrying");
                tokio::time::sleep(Duration::from_millis(100 * u64::from(n.min(10)))).await;
            }
            Err(error) => return Err(error),
        }
    }
    Err(LoadError::SwapLockTimeout { date, attempts })
}

fn is_lock_timeout(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == LOCK_NOT_AVAILABLE)
}

/// One attempt. The shrink guard is checked here too, on the day's record locked for
/// update: what the early check read may have been replaced since.
async fn try_swap(
    conn: &mut PgConnection,
    staging: &Staging,
    load: &DayLoad,
    policy: &SwapPolicy,
) -> Result<Swapped, LoadError> {
    let day = staging.day();
    let mut tx = conn.begin().await?;
    set_lock_timeout(&mut tx, policy.lock_timeout).await?;
    let replaced_rows: Option<i64> = sqlx::query_scalar(
        "SELECT rows FROM dwh.day_loads WHERE dataset = $1 AND day = $2 FOR UPDATE",
    )
    .bind(day.table().dataset())
    .bind(day.date())
    .fetch_optional(&mut *tx)
    .await?;
    let new_rows = u64::try_from(load.rows).unwrap_or(0);
    guard_shrink(
        day.date(),
        replaced_rows,
        new_rows,
        policy.shrink_guard_percent,
    )?;
    // The old leaves are a version worth keeping only when a whole load made them (not
    // live appends): then the day has a record.
    let keep_old = policy.retention.keep > 0 && replaced_rows.is_some();
    let cleared = clear_day_table(&mut tx, staging, keep_old).await?;
    // New columns first: the day's table and the new leaves must agree before the attach.
    let sql = day.table().add_columns_statement() + &cleared.statements;
    (&mut *tx).execute(sql.as_str()).await?;
    // The day's table, now without leaves, gets any partitioned index it lacks (nothing to
    // build); each new leaf's index, built before, is attached to it by the attach.
    let day_table = day.qualified_partition();
    let sql = indexes::day_table_statements(&mut tx, day.table(), &day_table, &day.compact())
        .await?
        + &attach_statements(staging);
    (&mut *tx).execute(sql.as_str()).await?;
    // Whatever the day's record says (an operator may have emptied it): the version that
    // was current is current no more.
    versions::mark_replaced(&mut tx, day, &cleared.kept).await?;
    let version = versions::next_number(&mut tx, day).await?;
    record_day_load(&mut tx, day, load, version).await?;
    versions::record_current(&mut tx, day, &load.audits).await?;
    let summary = SwapSummary {
        rows: new_rows,
        files: u64::try_from(load.files).unwrap_or(0),
        replaced_rows,
        version,
        audits: load.audits.clone(),
    };
    swap_check::ask(&mut tx, policy.check.as_ref(), day.date(), summary).await?;
    tx.commit().await?;
    Ok(Swapped {
        replaced_rows,
        version,
    })
}

/// `SET LOCAL lock_timeout`: the swap waits this long for readers, then backs off.
pub(crate) async fn set_lock_timeout(
    tx: &mut PgConnection,
    timeout: Duration,
) -> Result<(), sqlx::Error> {
    let sql = format!("SET LOCAL lock_timeout = '{}ms'", timeout.as_millis());
    tx.execute(sql.as_str()).await.map(|_| ())
}

/// Renames each staging table to a leaf of the day's table, moves it from `dwh_staging`
/// into `dwh` and attaches it. (It keeps its grants: none. Readers read the day through
/// the tables above it, whose privileges are the ones checked.)
fn attach_statements(staging: &Staging) -> String {
    let day = staging.day();
    let day_table = day.qualified_partition();
    let mut sql = String::new();
    for (k, stage) in staging.tables().iter().enumerate() {
        let leaf = staging.leaf_name(k);
        sql.push_str(&format!(
            "ALTER TABLE {stage} RENAME TO {leaf_name};
             ALTER TABLE {staged} SET SCHEMA {schema};
             ALTER TABLE {day_table} ATTACH PARTITION {leaf}
                 FOR VALUES FROM ({start}) TO ({end});",
            stage = stage.qualified_name(),
            leaf_name = table::quote_ident(&leaf),
            staged = table::staging_qualified(&leaf),
            schema = table::quote_ident(day.table().schema()),
            leaf = day.table().qualified_leaf(&leaf),
            start = day.bound_literal(stage.range().start_us),
            end = day.bound_literal(stage.range().end_us),
        ));
    }
    sql
}

async fn record_day_load(
    tx: &mut PgConnection,
    day: &Day,
    load: &DayLoad,
    version: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO dwh.day_loads
             (day, partition, rows, files, bytes, missing_minutes, job_id, loaded_at,
              distinct_department_names, distinct_sensor_serials, distinct_product_names,
              version, dataset)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now(), $8, $9, $10, $11, $12)
         ON CONFLICT (dataset, day) DO UPDATE SET partition = EXCLUDED.partition, rows = EXCLUDED.rows,
             files = EXCLUDED.files, bytes = EXCLUDED.bytes,
             missing_minutes = EXCLUDED.missing_minutes, job_id = EXCLUDED.job_id,
             loaded_at = EXCLUDED.loaded_at,
             distinct_department_names = EXCLUDED.distinct_department_names,
             distinct_sensor_serials = EXCLUDED.distinct_sensor_serials,
             distinct_product_names = EXCLUDED.distinct_product_names,
             version = EXCLUDED.version",
    )
    .bind(day.date())
    .bind(day.partition_name())
    .bind(load.rows)
    .bind(load.files)
    .bind(load.bytes)
    .bind(&load.missing_minutes)
    .bind(load.job_id)
    .bind(load.names.map(|n| n.department_names))
    .bind(load.names.map(|n| n.sensor_serials))
    .bind(load.names.map(|n| n.product_names))
    .bind(version)
    .bind(day.table().dataset())
    .execute(tx)
    .await
    .map(|_| ())
}

/// The statement that moves the retired leaf `<schema>.<name>` into the history, where
/// readers see nothing, to wait there for its drop (see `retired`).
fn into_history(day: &Day, name: &str) -> String {
    format!(
        "ALTER TABLE {} SET SCHEMA {};",
        day.table().qualified_leaf(name),
        versions::SCHEMA
    )
}

/// What clearing the day's table takes: the statements, and where the old leaves go.
struct Cleared {
    statements: String,
    /// Renamed aside, to be dropped after the commit.
    retired: Vec<String>,
    /// Moved into the history, as the day's previous version.
    kept: Vec<Leaf>,
}

/// The statements that leave the day's table existing and empty, ready for the new
/// leaves: its old leaves go to the history (`keep_old`) or are renamed aside to be
/// dropped. Runs inside the swap.
async fn clear_day_table(
    tx: &mut PgConnection,
    staging: &Staging,
    keep_old: bool,
) -> Result<Cleared, sqlx::Error> {
    let day = staging.day();
    let day_table = day.qualified_partition();
    let layout: Option<String> =
        sqlx::query_scalar("SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)")
            .bind(&day_table)
            .fetch_optional(&mut *tx)
            .await?;
    let mut cleared = Cleared {
        statements: String::new(),
        retired: Vec::new(),
        kept: Vec::new(),
    };
    match layout.as_deref() {
        // The day's table exists: take its current leaves out (only the day's table is
        // locked, not the parent).
        Some("p") => {
            let leaves = versions::leaves_of(&mut *tx, day).await?;
            if keep_old {
                cleared.statements = versions::move_to_history(day, &leaves);
                cleared.kept = leaves;
                return Ok(cleared);
            }
            for leaf in leaves {
                let name = staging.retired_name(cleared.retired.len());
                cleared.statements.push_str(&format!(
                    "ALTER TABLE {day_table} DETACH PARTITION {leaf};
                     ALTER TABLE {leaf} RENAME TO {renamed};
                     {retire}",
                    leaf = day.table().qualified_leaf(&leaf.name),
                    renamed = table::quote_ident(&name),
                    retire = into_history(day, &name),
                ));
                cleared.retired.push(name);
            }
        }
        // First load of the day, or a day loaded as a plain partition by an earlier
        // version (not kept: it is no leaf a rollback could attach): (re)create the
        // day's table.
        other => {
            if other.is_some() {
                let name = staging.retired_name(0);
                cleared.statements.push_str(&format!(
                    "ALTER TABLE {parent} DETACH PARTITION {day_table};
                     ALTER TABLE {day_table} RENAME TO {renamed};
                     {retire}",
                    renamed = table::quote_ident(&name),
                    parent = day.table().qualified(),
                    retire = into_history(day, &name),
                ));
                cleared.retired.push(name);
            }
            cleared.statements.push_str(&day.create_table_statements());
        }
    }
    Ok(cleared)
}
