//! Versions of a day. A replace keeps the day's old leaves as its previous version: the
//! swap moves them into schema `dwh_history` (readers of `dwh` are granted nothing there)
//! instead of dropping them, and `dwh_history.versions` records which leaves make which
//! version, with the job that made it, its counts and its audit results. A rollback
//! ([`rollback_day`]) is the same swap the other way: the kept leaves go back into the
//! day's table and the current ones into the history, so it can be undone in turn.
//!
//! Retention ([`Retention`]): at most `keep` replaced versions per day, none replaced more
//! than `max_age` ago; pruned after every swap and by [`prune_versions`].

use std::time::Duration;

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use sqlx::{Executor, PgConnection, PgPool};
use uuid::Uuid;

use crate::publish::audit::AuditResult;
use crate::warehouse::day::Day;
use crate::warehouse::day_lock::DayLock;
use crate::warehouse::retired::Dispose;
use crate::warehouse::table::{self, Table};

/// Where replaced versions' leaves are kept.
pub(crate) const SCHEMA: &str = table::HISTORY_SCHEMA;

/// How many replaced versions of a day are kept, and for how long after they were replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Replaced versions kept per day; 0: a replace drops the old rows, as before versions.
    pub keep: u32,
    /// A replaced version older than this is dropped, however few are kept.
    pub max_age: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            keep: 2,
            max_age: Duration::from_secs(72 * 3600),
        }
    }
}

/// One leaf of a version: its table and the range of `create_at` it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Leaf {
    pub name: String,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

/// A version of a day, as `dwh_history.versions` records it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DayVersion {
    pub version: i32,
    /// Whether readers see it now.
    pub current: bool,
    /// The job that loaded its rows, if it came from the API.
    pub job_id: Option<Uuid>,
    pub loaded_at: chrono::DateTime<chrono::Utc>,
    /// When it stopped being the current version; null for the current one.
    pub replaced_at: Option<chrono::DateTime<chrono::Utc>>,
    pub rows: i64,
    pub files: i32,
    /// Bytes of Parquet it was loaded from.
    pub bytes: i64,
    /// What its leaves take on disk (tables and their TOAST).
    pub disk_bytes: i64,
    #[sqlx(json)]
    pub audits: Vec<AuditResult>,
}

/// The leaves of `day`'s table, with the range each was attached for (in UTC for a
/// `timestamptz` column).
pub(crate) async fn leaves_of(
    conn: &mut PgConnection,
    day: &Day,
) -> Result<Vec<Leaf>, sqlx::Error> {
    // A leaf's bounds are only stored as the text of its partition bound ("FOR VALUES
    // FROM ('…') TO ('…')"): there is no catalog function that returns them as values. A
    // timestamptz bound is written in the session's time zone, with its offset.
    let cast = match day.table().partition_column().pg_type {
        crate::warehouse::column_type::PgType::Timestamptz => "::timestamptz AT TIME ZONE 'UTC'",
        _ => "::timestamp",
    };
    let sql = format!(
        r"SELECT c.relname::text,
                 (substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \(''([^'']*)''\)'){cast})::timestamp,
                 (substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']*)''\)'){cast})::timestamp
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent = to_regclass($1) ORDER BY 1"
    );
    let rows: Vec<(String, NaiveDateTime, NaiveDateTime)> = sqlx::query_as(&sql)
        .bind(day.qualified_partition())
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(name, start, end)| Leaf { name, start, end })
        .collect())
}

/// The statements that take `leaves` out of the day's table into the history schema.
pub(crate) fn move_to_history(day: &Day, leaves: &[Leaf]) -> String {
    let day_table = day.qualified_partition();
    leaves
        .iter()
        .map(|leaf| {
            format!(
                "ALTER TABLE {day_table} DETACH PARTITION {qualified};
                 ALTER TABLE {qualified} SET SCHEMA {SCHEMA};",
                qualified = day.table().qualified_leaf(&leaf.name),
            )
        })
        .collect()
}

/// Marks the day's current version replaced, its leaves now kept in the history; with no
/// leaves kept (retention keeps none), it is pruned at once.
pub(crate) async fn mark_replaced(
    conn: &mut PgConnection,
    day: &Day,
    kept: &[Leaf],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE dwh_history.versions
         SET replaced_at = clock_timestamp(), leaves = $2, leaf_starts = $3, leaf_ends = $4,
             pruned_at = CASE WHEN cardinality($2::text[]) = 0 THEN clock_timestamp() END
         WHERE dataset = $5 AND day = $1 AND replaced_at IS NULL",
    )
    .bind(day.date())
    .bind(kept.iter().map(|l| l.name.clone()).collect::<Vec<_>>())
    .bind(kept.iter().map(|l| l.start).collect::<Vec<_>>())
    .bind(kept.iter().map(|l| l.end).collect::<Vec<_>>())
    .bind(day.table().dataset())
    .execute(conn)
    .await
    .map(|_| ())
}

/// The number the day's next version gets: numbers are never reused (pruned versions keep
/// their record).
pub(crate) async fn next_number(conn: &mut PgConnection, day: &Day) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT coalesce(max(version), 0) + 1 FROM dwh_history.versions
         WHERE dataset = $2 AND day = $1",
    )
    .bind(day.date())
    .bind(day.table().dataset())
    .fetch_one(conn)
    .await
}

/// Records what `dwh.day_loads` now says of the day as its current version, with the
/// audit's results: the two records cannot disagree.
pub(crate) async fn record_current(
    conn: &mut PgConnection,
    day: &Day,
    audits: &[AuditResult],
) -> Result<(), sqlx::Error> {
    let audits = serde_json::to_value(audits).expect("audit results serialise");
    sqlx::query(
        "INSERT INTO dwh_history.versions
             (dataset, day, version, job_id, loaded_at, rows, files, bytes, missing_minutes,
              distinct_department_names, distinct_sensor_serials, distinct_product_names, audits)
         SELECT dataset, day, version, job_id, loaded_at, rows, files, bytes, missing_minutes,
                distinct_department_names, distinct_sensor_serials, distinct_product_names, $2
         FROM dwh.day_loads WHERE dataset = $3 AND day = $1",
    )
    .bind(day.date())
    .bind(audits)
    .bind(day.table().dataset())
    .execute(conn)
    .await
    .map(|_| ())
}

/// The current and kept versions of `date` of the sample, newest first; empty for a day
/// never loaded whole.
pub async fn list_versions(pool: &PgPool, date: NaiveDate) -> Result<Vec<DayVersion>, sqlx::Error> {
    list_versions_of(pool, &Table::sample(), date).await
}

/// [`list_versions`] of `table`'s dataset.
pub async fn list_versions_of(
    pool: &PgPool,
    table: &Arc<Table>,
    date: NaiveDate,
) -> Result<Vec<DayVersion>, sqlx::Error> {
    // The current version's leaves are the day's table's; a kept one's are named.
    sqlx::query_as(
        "SELECT v.version, v.replaced_at IS NULL AS current, v.job_id, v.loaded_at,
                v.replaced_at, v.rows, v.files, v.bytes, v.audits,
                CASE WHEN v.replaced_at IS NULL
                     THEN coalesce((SELECT sum(pg_total_relation_size(t.relid))
                                    FROM pg_partition_tree(to_regclass($2)) t
                                    WHERE t.isleaf), 0)
                     ELSE coalesce((SELECT sum(pg_total_relation_size(to_regclass($3 || '.' || quote_ident(l))))
                                    FROM unnest(v.leaves) l), 0)
                END::bigint AS disk_bytes
         FROM dwh_history.versions v
         WHERE v.dataset = $4 AND v.day = $1 AND v.pruned_at IS NULL
         ORDER BY v.version DESC",
    )
    .bind(date)
    .bind(Day::of(table, date).qualified_partition())
    .bind(SCHEMA)
    .bind(table.dataset())
    .fetch_all(pool)
    .await
}

/// Lets go of the replaced versions of `date` beyond `retention`, oldest replaced first,
/// on the day lock's connection (so that no rollback is taking them back meanwhile): no
/// longer listed nor rolled back to, their leaves dropped or retired (`dispose`). Returns
/// the versions' numbers.
pub(crate) async fn prune_day(
    conn: &mut PgConnection,
    day: &Day,
    retention: Retention,
    dispose: Dispose,
) -> Result<Vec<i32>, sqlx::Error> {
    let date = day.date();
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let max_age = retention.max_age.as_secs_f64();
    let dropped: Vec<(i32, Vec<String>)> = sqlx::query_as(
        "WITH ranked AS (
             SELECT version, replaced_at, leaves,
                    row_number() OVER (ORDER BY replaced_at DESC, version DESC) AS place
             FROM dwh_history.versions
             WHERE dataset = $4 AND day = $1 AND replaced_at IS NOT NULL AND pruned_at IS NULL)
         UPDATE dwh_history.versions v
         SET pruned_at = clock_timestamp(), leaves = '{}', leaf_starts = '{}', leaf_ends = '{}'
         FROM ranked r
         WHERE v.dataset = $4 AND v.day = $1 AND v.version = r.version
           AND (r.place > $2 OR r.replaced_at < clock_timestamp() - make_interval(secs => $3))
         RETURNING v.version, r.leaves",
    )
    .bind(date)
    .bind(i64::from(retention.keep))
    .bind(max_age)
    .bind(day.table().dataset())
    .fetch_all(&mut *tx)
    .await?;
    let statements: String = dropped
        .iter()
        .flat_map(|(version, leaves)| {
            let numbered = leaves.iter().enumerate();
            numbered.map(move |(n, leaf)| dispose.statement(day, *version, n + 1, leaf))
        })
        .collect();
    if !statements.is_empty() {
        (&mut *tx).execute(statements.as_str()).await?;
    }
    tx.commit().await?;
    let versions: Vec<i32> = dropped.into_iter().map(|(v, _)| v).collect();
    if !versions.is_empty() {
        tracing::info!(day = %date, ?versions, ?dispose, "let go of versions beyond retention");
    }
    Ok(versions)
}

/// [`prune_versions_of`] the sample's table.
pub async fn prune_versions(
    pool: &PgPool,
    retention: Retention,
) -> Result<Vec<(NaiveDate, i32)>, sqlx::Error> {
    prune_versions_of(pool, &Table::sample(), retention).await
}

/// Drops, for every day of `table`, the replaced versions beyond `retention` (they age
/// out between loads too). A day whose load or rollback is running is left for the next
/// round.
pub async fn prune_versions_of(
    pool: &PgPool,
    table: &Arc<Table>,
    retention: Retention,
) -> Result<Vec<(NaiveDate, i32)>, sqlx::Error> {
    let days: Vec<NaiveDate> = sqlx::query_scalar(
        "SELECT DISTINCT day FROM dwh_history.versions
         WHERE dataset = $1 AND replaced_at IS NOT NULL AND pruned_at IS NULL ORDER BY 1",
    )
    .bind(table.dataset())
    .fetch_all(pool)
    .await?;
    let mut dropped = Vec::new();
    for date in days {
        let day = Day::of(table, date);
        if let Some(mut lock) = DayLock::try_acquire(pool, &day).await? {
            let versions = prune_day(lock.connection(), &day, retention, Dispose::Drop).await;
            lock.release().await?;
            dropped.extend(versions?.into_iter().map(|v| (date, v)));
        }
    }
    Ok(dropped)
}
