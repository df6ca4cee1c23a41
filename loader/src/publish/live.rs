//! Live files: one file (a sample's minute, a dataset's hour or part) appended to its day
//! as soon as it lands, before the day is whole, so that the day in progress can be
//! queried within seconds.
//!
//! The rows go to the day's **live leaf** (`data_sample_pYYYYMMDD_live`, one leaf covering
//! the whole day), in a transaction of the caller's: the API writes its ledger row for the
//! file in the same transaction, so a minute is appended exactly once whatever crashes.
//! When the day is loaded whole, the swap takes the live leaf out with the day's other
//! leaves: the canonical day replaces the live rows, it is not added to them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use sqlx::{Executor, PgConnection};

use crate::copy::one_stream;
use crate::error::LoadError;
use crate::files::footers::{self, Fingerprint};
use crate::warehouse::day::Day;
use crate::warehouse::day_lock;
use crate::warehouse::table::Table;

/// What one live append stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendedMinute {
    pub rows: u64,
    /// The file as it was read: its rows are those of this fingerprint.
    pub fingerprint: Fingerprint,
}

/// Appends the rows of the minute file at `path` to `date`'s live leaf, on `conn`: a
/// transaction of the caller's, which commits them (with whatever else it writes) or
/// not at all. Every row is checked as a load checks it.
///
/// Refused with [`LoadError::DayBusy`] while a load of the day runs (its swap will
/// publish the file anyway, or the next append will), and with [`LoadError::DayLoaded`]
/// once the day is loaded: from then on a changed file is a reason to reload the day,
/// not to append.
pub async fn append_minute(
    conn: &mut PgConnection,
    path: &Path,
    date: NaiveDate,
) -> Result<AppendedMinute, LoadError> {
    append_file(conn, &Table::sample(), path, date).await
}

/// [`append_minute`] for any dataset's table: the file at `path`, one of `date`'s files,
/// appended to the day's live leaf of `table`.
pub async fn append_file(
    conn: &mut PgConnection,
    table: &Arc<Table>,
    path: &Path,
    date: NaiveDate,
) -> Result<AppendedMinute, LoadError> {
    let day = Day::of(table, date);
    if !day_lock::try_lock_for_transaction(conn, &day).await? {
        return Err(LoadError::DayBusy { date });
    }
    let loaded: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM dwh.day_loads WHERE day = $1 AND dataset = $2)",
    )
    .bind(date)
    .bind(day.table().dataset())
    .fetch_one(&mut *conn)
    .await?;
    if loaded {
        return Err(LoadError::DayLoaded { date });
    }
    let (fingerprint, data, rows) = encode(path.to_path_buf(), &day).await?;
    ensure_live_leaf(conn, &day).await?;
    let statement = format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary)",
        day.table().qualified_leaf(&day.live_leaf_name()),
        day.table().column_list()
    );
    let mut copy = conn.copy_in_raw(&statement).await?;
    copy.send(data).await?;
    let stored = copy.finish().await?;
    if stored != rows {
        return Err(LoadError::RowCountMismatch {
            date,
            stored,
            expected: rows,
        });
    }
    Ok(AppendedMinute { rows, fingerprint })
}

/// Checks the file's footer and encodes its rows, off the async runtime.
async fn encode(path: PathBuf, day: &Day) -> Result<(Fingerprint, bytes::Bytes, u64), LoadError> {
    let day = day.clone();
    tokio::task::spawn_blocking(move || {
        let file = footers::inspect(&path, day.table())?;
        let (data, rows) = one_stream::encode_whole_file(&file, &day)?;
        Ok((file.fingerprint, data, rows))
    })
    .await
    .map_err(|join| LoadError::internal("the live reader thread failed", join))?
}

/// Creates the day's table and its live leaf where they do not exist yet.
async fn ensure_live_leaf(conn: &mut PgConnection, day: &Day) -> Result<(), LoadError> {
    let exists = |name: String| {
        sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL").bind(name)
    };
    let leaf = day.table().qualified_leaf(&day.live_leaf_name());
    if exists(leaf.clone()).fetch_one(&mut *conn).await? {
        return Ok(());
    }
    let mut sql = String::new();
    if !exists(day.qualified_partition())
        .fetch_one(&mut *conn)
        .await?
    {
        sql.push_str(&day.create_table_statements());
    }
    let range = day.range();
    sql.push_str(&format!(
        "CREATE TABLE {leaf} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
         ALTER TABLE {day_table} ATTACH PARTITION {leaf}
             FOR VALUES FROM ({start}) TO ({end});",
        parent = day.table().qualified(),
        day_table = day.qualified_partition(),
        start = day.bound_literal(range.start_us),
        end = day.bound_literal(range.end_us),
    ));
    conn.execute(sql.as_str()).await?;
    Ok(())
}
