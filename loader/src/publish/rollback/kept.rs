//! A kept version, as a rollback reads it, locks it and swaps it back in.

use chrono::NaiveDateTime;
use sqlx::PgConnection;

use crate::publish::versions::{Leaf, move_to_history};
use crate::warehouse::day::Day;
use crate::warehouse::table;

/// A kept version, as a rollback needs it.
#[derive(Debug)]
pub(crate) struct KeptVersion {
    pub leaves: Vec<Leaf>,
    pub rows: i64,
    pub files: i32,
}

/// replaced_at, leaves, leaf_starts, leaf_ends, rows, files.
type KeptRow = (
    Option<chrono::DateTime<chrono::Utc>>,
    Vec<String>,
    Vec<NaiveDateTime>,
    Vec<NaiveDateTime>,
    i64,
    i32,
);

/// Reads the version to roll back to, checking that it is kept; locks its row.
pub(crate) async fn kept_version(
    conn: &mut PgConnection,
    day: &Day,
    version: i32,
) -> Result<Result<KeptVersion, crate::LoadError>, sqlx::Error> {
    let date = day.date();
    let dataset = day.table().dataset();
    let row: Option<KeptRow> = sqlx::query_as(
        "SELECT replaced_at, leaves, leaf_starts, leaf_ends, rows, files
             FROM dwh_history.versions
             WHERE dataset = $3 AND day = $1 AND version = $2 AND pruned_at IS NULL FOR UPDATE",
    )
    .bind(date)
    .bind(version)
    .bind(dataset)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some((None, ..)) => Err(crate::LoadError::VersionIsCurrent { date, version }),
        Some((Some(_), names, starts, ends, rows, files)) => Ok(KeptVersion {
            leaves: names
                .into_iter()
                .zip(starts.into_iter().zip(ends))
                .map(|(name, (start, end))| Leaf { name, start, end })
                .collect(),
            rows,
            files,
        }),
        None => {
            let kept: Vec<i32> = sqlx::query_scalar(
                "SELECT version FROM dwh_history.versions
                 WHERE dataset = $2 AND day = $1 AND replaced_at IS NOT NULL
                   AND pruned_at IS NULL ORDER BY 1",
            )
            .bind(date)
            .bind(dataset)
            .fetch_all(&mut *conn)
            .await?;
            Err(crate::LoadError::VersionNotKept {
                date,
                version,
                kept,
            })
        }
    })
}

/// The statements of a rollback's swap: the current leaves out to the history, the kept
/// ones in.
pub(crate) fn rollback_statements(day: &Day, current: &[Leaf], target: &KeptVersion) -> String {
    let mut sql = move_to_history(day, current);
    sql.push_str(&move_from_history(day, &target.leaves));
    sql
}

/// Makes `version` the day's current version again, in the versions table and in
/// `dwh.day_loads` (whose counts are the version's).
pub(crate) async fn mark_current(
    conn: &mut PgConnection,
    day: &Day,
    version: i32,
) -> Result<(), sqlx::Error> {
    let (date, dataset) = (day.date(), day.table().dataset());
    sqlx::query(
        "UPDATE dwh_history.versions
         SET replaced_at = NULL, leaves = '{}', leaf_starts = '{}', leaf_ends = '{}'
         WHERE dataset = $3 AND day = $1 AND version = $2",
    )
    .bind(date)
    .bind(version)
    .bind(dataset)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE dwh.day_loads d
         SET rows = v.rows, files = v.files, bytes = v.bytes, missing_minutes = v.missing_minutes,
             job_id = v.job_id, loaded_at = now(), version = v.version,
             distinct_department_names = v.distinct_department_names,
             distinct_sensor_serials = v.distinct_sensor_serials,
             distinct_product_names = v.distinct_product_names
         FROM dwh_history.versions v
         WHERE d.dataset = $3 AND d.day = $1
           AND v.dataset = $3 AND v.day = $1 AND v.version = $2",
    )
    .bind(date)
    .bind(version)
    .bind(dataset)
    .execute(conn)
    .await
    .map(|_| ())
}

/// The statements that put kept `leaves` back into the day's table. Each still has the
/// CHECK on its range that it had as a staging table, so the attach scans nothing.
fn move_from_history(day: &Day, leaves: &[Leaf]) -> String {
    let day_table = day.qualified_partition();
    leaves
        .iter()
        .map(|leaf| {
            format!(
                "{added}ALTER TABLE {kept} SET SCHEMA {schema};
                 ALTER TABLE {day_table} ATTACH PARTITION {qualified}
                     FOR VALUES FROM ({start}) TO ({end});",
                added = columns_added_since(day, &leaf.name),
                kept = table::history_qualified(&leaf.name),
                schema = table::quote_ident(day.table().schema()),
                qualified = day.table().qualified_leaf(&leaf.name),
                start = day.bound_literal(leaf.start.and_utc().timestamp_micros()),
                end = day.bound_literal(leaf.end.and_utc().timestamp_micros()),
            )
        })
        .collect()
}

/// A version kept before schema drift added columns to the table lacks them, and could
/// not be attached: they are added to the kept leaf first (nullable, so it reads NULL
/// there, as every day of before does). Only a declared dataset's table drifts.
fn columns_added_since(day: &Day, leaf: &str) -> String {
    if day.table().is_sample() {
        return String::new();
    }
    let nullable: Vec<String> = day
        .table()
        .columns()
        .iter()
        .filter(|c| !c.not_null)
        .map(|c| format!("ADD COLUMN IF NOT EXISTS {}", c.definition()))
        .collect();
    if nullable.is_empty() {
        return String::new();
    }
    format!(
        "ALTER TABLE {} {};\n",
        table::history_qualified(leaf),
        nullable.join(", ")
    )
}
