//! `rollback_day`: swaps a kept version of a day back in, through the same kind of swap
//! as a load's. The current leaves go to the history as a kept version (so the rollback
//! can be undone), the kept ones come back and are attached; readers see one version or
//! the other, never a mix. Only catalog entries change, so the swap takes milliseconds.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use futures::future::BoxFuture;
use serde::Serialize;
use sqlx::{Connection, Executor, PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use crate::error::LoadError;
use crate::fence::{self, Fence};
use crate::publish::swap::{self, SwapAttempt, SwapPolicy, Swapped};
use crate::publish::swap_check::{self, SwapCheck, SwapSummary};
use crate::publish::versions::{self, Retention};
use crate::warehouse::day::Day;
use crate::warehouse::day_lock::DayLock;
use crate::warehouse::indexes;
use crate::warehouse::staging;
use crate::warehouse::table::Table;

mod kept;

/// How a rollback runs.
#[derive(Debug, Clone)]
pub struct RollbackOptions {
    /// How long the swap waits for its locks before it backs off and retries.
    pub lock_timeout: Duration,
    /// Swap attempts before giving up (the day then stays as it was).
    pub swap_attempts: u32,
    /// Applied after the swap, which keeps the version it replaces.
    pub retention: Retention,
    /// Run in the swap transaction just before it commits; it may refuse the swap.
    pub swap_check: Option<SwapCheck>,
    /// Asked before the swap whether this run may still write.
    pub fence: Option<Fence>,
}

impl Default for RollbackOptions {
    fn default() -> Self {
        Self {
            lock_timeout: Duration::from_secs(1),
            swap_attempts: 10,
            retention: Retention::default(),
            swap_check: None,
            fence: None,
        }
    }
}

/// What a successful rollback did.
#[derive(Debug, Clone, Serialize)]
pub struct RollbackReport {
    pub date: NaiveDate,
    /// The version now current.
    pub version: i32,
    /// The version it replaced, now kept.
    pub replaced_version: Option<i32>,
    /// Rows of the day now.
    pub rows: i64,
    /// The swap transaction: the longest a reader of the day waited on the rollback.
    pub swap_duration: Duration,
    pub swap_attempts: u32,
}

/// Makes kept `version` of `date` of the sample the day's current version again (see
/// [`rollback_day_of`]).
pub async fn rollback_day(
    pool: &PgPool,
    date: NaiveDate,
    version: i32,
    options: &RollbackOptions,
    cancel: &CancellationToken,
) -> Result<RollbackReport, LoadError> {
    rollback_day_of(pool, &Table::sample(), date, version, options, cancel).await
}

/// Makes kept `version` of `date` of `table` the day's current version again. Refused
/// when another load or rollback of the day runs ([`LoadError::DayBusy`]), when the
/// version is not kept ([`LoadError::VersionNotKept`]) or is current already.
pub async fn rollback_day_of(
    pool: &PgPool,
    table: &Arc<Table>,
    date: NaiveDate,
    version: i32,
    options: &RollbackOptions,
    cancel: &CancellationToken,
) -> Result<RollbackReport, LoadError> {
    let day = Day::of(table, date);
    let mut lock = DayLock::acquire(pool, &day).await?;
    let result = swap_back(&mut lock, version, options, cancel).await;
    lock.release().await.ok();
    let (outcome, replaced_version, rows) = result?;
    tracing::info!(
        %date, version, ?replaced_version,
        swap_ms = outcome.duration.as_secs_f64() * 1e3, "day rolled back"
    );
    Ok(RollbackReport {
        date,
        version,
        replaced_version,
        rows,
        swap_duration: outcome.duration,
        swap_attempts: outcome.attempts,
    })
}

async fn swap_back(
    lock: &mut DayLock,
    version: i32,
    options: &RollbackOptions,
    cancel: &CancellationToken,
) -> Result<(swap::SwapOutcome, Option<i32>, i64), LoadError> {
    let day = lock.day().clone();
    let date = day.date();
    fence::check(options.fence.as_ref(), lock.connection(), date).await?;
    // Leftovers of a killed load of the day would only take up room.
    staging::drop_leftovers_for_day(lock).await?;
    if cancel.is_cancelled() {
        return Err(LoadError::Cancelled { date });
    }
    let replaced_version: Option<i32> =
        sqlx::query_scalar("SELECT version FROM dwh.day_loads WHERE day = $1 AND dataset = $2")
            .bind(date)
            .bind(day.table().dataset())
            .fetch_optional(lock.connection())
            .await?
            .flatten();
    // A version kept from before an index was declared gets it now, in the history,
    // rather than built by the attach under the swap's locks.
    if let Ok(kept) = kept::kept_version(lock.connection(), &day, version).await? {
        let leaves: Vec<String> = kept.leaves.into_iter().map(|leaf| leaf.name).collect();
        indexes::complete_kept_leaves(lock.connection(), day.table(), &leaves).await?;
    }
    let policy = SwapPolicy {
        lock_timeout: options.lock_timeout,
        attempts: options.swap_attempts,
        shrink_guard_percent: 0,
        check: options.swap_check.clone(),
        retention: options.retention,
    };
    let attempt = RollbackSwap {
        day: &day,
        version,
        policy: &policy,
    };
    let outcome = swap::retrying(lock.connection(), &day, &policy, cancel, &attempt).await?;
    let rows_now: i64 =
        sqlx::query_scalar("SELECT rows FROM dwh.day_loads WHERE day = $1 AND dataset = $2")
            .bind(date)
            .bind(day.table().dataset())
            .fetch_one(lock.connection())
            .await?;
    Ok((outcome, replaced_version, rows_now))
}

/// A rollback's swap: the kept version's leaves in, the current ones out to the history.
struct RollbackSwap<'a> {
    day: &'a Day,
    version: i32,
    policy: &'a SwapPolicy,
}

impl SwapAttempt for RollbackSwap<'_> {
    fn run<'c>(&'c self, conn: &'c mut PgConnection) -> BoxFuture<'c, Result<Swapped, LoadError>> {
        Box::pin(try_rollback(conn, self.day, self.version, self.policy))
    }
}

/// One attempt: the day's record locked, the version checked, the leaves exchanged.
async fn try_rollback(
    conn: &mut PgConnection,
    day: &Day,
    version: i32,
    policy: &SwapPolicy,
) -> Result<Swapped, LoadError> {
    let date = day.date();
    let mut tx = conn.begin().await?;
    swap::set_lock_timeout(&mut tx, policy.lock_timeout).await?;
    let replaced_rows: Option<i64> = sqlx::query_scalar(
        "SELECT rows FROM dwh.day_loads WHERE day = $1 AND dataset = $2 FOR UPDATE",
    )
    .bind(date)
    .bind(day.table().dataset())
    .fetch_optional(&mut *tx)
    .await?;
    let target = kept::kept_version(&mut tx, day, version).await??;
    let current = versions::leaves_of(&mut tx, day).await?;
    let sql = kept::rollback_statements(day, &current, &target);
    (&mut *tx).execute(sql.as_str()).await?;
    // In this order: a day has one current version at a time.
    versions::mark_replaced(&mut tx, day, &current).await?;
    kept::mark_current(&mut tx, day, version).await?;
    let summary = SwapSummary {
        rows: u64::try_from(target.rows).unwrap_or(0),
        files: u64::try_from(target.files).unwrap_or(0),
        replaced_rows,
        version,
        audits: Vec::new(),
    };
    swap_check::ask(&mut tx, policy.check.as_ref(), date, summary).await?;
    tx.commit().await?;
    Ok(Swapped {
        replaced_rows,
        version,
    })
}
