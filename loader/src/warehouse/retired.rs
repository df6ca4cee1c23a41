//! Retired leaves: old rows that no reader sees and no version keeps any more — a day's
//! leaves replaced with no version kept, or the leaves of a version that retention let go
//! after a swap — waiting in `dwh_history` (where readers of `dwh` are granted nothing)
//! under `data_sample_retired_…` names to be dropped.
//!
//! Dropping a day's leaves frees their files, which takes the server about 120 ms for a
//! whole day (measured on 480 MB). A swap does not wait for it: the day is published once
//! the swap commits. The next load of the day drops them while its rows stream (on a
//! connection of its own, when the pool has one to spare), and so do `collect_garbage`
//! (`loader gc`, the API's start and its hourly housekeeping).

use chrono::NaiveDate;
use sqlx::{Executor, PgConnection, PgPool};

use crate::warehouse::day::Day;
use crate::warehouse::table::{self, Table};

/// The names of a table's retired leaves start with this (`data_sample_retired_`), then
/// the day as `YYYYMMDD`.
pub(crate) fn prefix(table: &Table) -> String {
    format!("{}_retired_", table.name())
}

/// `data_sample_retired_YYYYMMDD_v<version>_<n>`: the name of leaf `n` (from 1) of a
/// version that retention let go; version numbers are never reused, so it is unique.
fn name_of_version_leaf(day: &Day, version: i32, n: usize) -> String {
    format!("{}{}_v{version}_{n}", prefix(day.table()), day.compact())
}

/// What becomes of the leaves of a version that retention lets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dispose {
    /// Dropped now.
    Drop,
    /// Renamed to retired leaves, for the next load of the day or the collector to drop:
    /// what a swap does, so that its caller need not wait for the drop.
    Retire,
}

impl Dispose {
    /// The statement that disposes of leaf `n` (from 1), `leaf` in the history, of
    /// `version` of `day`.
    pub(crate) fn statement(self, day: &Day, version: i32, n: usize, leaf: &str) -> String {
        let leaf_table = table::history_qualified(leaf);
        match self {
            Self::Drop => format!("DROP TABLE IF EXISTS {leaf_table};"),
            Self::Retire => format!(
                "ALTER TABLE IF EXISTS {leaf_table} RENAME TO {};",
                table::quote_ident(&name_of_version_leaf(day, version, n))
            ),
        }
    }
}

/// The day of a retired leaf, from its name (after `prefix`).
fn day_of(name: &str, prefix: &str) -> Option<NaiveDate> {
    let rest = name.strip_prefix(prefix)?;
    NaiveDate::parse_from_str(rest.get(..8)?, "%Y%m%d").ok()
}

/// Every retired leaf of `table` waiting in the history, with its day.
pub(crate) async fn waiting(
    conn: &mut PgConnection,
    table: &Table,
) -> Result<Vec<(String, NaiveDate)>, sqlx::Error> {
    let prefix = prefix(table);
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind = 'r' AND starts_with(c.relname::text, $2)",
    )
    .bind(table::HISTORY_SCHEMA)
    .bind(&prefix)
    .fetch_all(conn)
    .await?;
    Ok(names
        .into_iter()
        .filter_map(|name| day_of(&name, &prefix).map(|day| (name, day)))
        .collect())
}

/// Drops the retired leaves of `day`, in one statement. Only with the day's lock held:
/// then no swap of the day is retiring leaves meanwhile.
pub(crate) async fn drop_day(
    conn: &mut PgConnection,
    day: &Day,
) -> Result<Vec<String>, sqlx::Error> {
    let date = day.date();
    let names: Vec<String> = waiting(&mut *conn, day.table())
        .await?
        .into_iter()
        .filter(|(_, d)| *d == date)
        .map(|(name, _)| name)
        .collect();
    if !names.is_empty() {
        let tables: Vec<String> = names
            .iter()
            .map(|name| table::history_qualified(name))
            .collect();
        let sql = format!("DROP TABLE IF EXISTS {}", tables.join(", "));
        conn.execute(sql.as_str()).await?;
    }
    Ok(names)
}

/// [`drop_day`] on a connection of the pool's own, while the caller holds the day's lock
/// and copies: with the pool full and none idle, or on an error, the leaves wait for the
/// next load or for `collect_garbage`, and the load goes on either way.
pub(crate) async fn drop_day_alongside(pool: &PgPool, day: &Day) {
    let date = day.date();
    let full = pool.size() >= pool.options().get_max_connections() && pool.num_idle() == 0;
    if full {
        return;
    }
    let Ok(mut conn) = pool.acquire().await else {
        return;
    };
    match drop_day(&mut conn, day).await {
        Ok(dropped) if !dropped.is_empty() => {
            tracing::debug!(day = %date, tables = ?dropped, "dropped retired leaves");
        }
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(%error, day = %date, "could not drop retired leaves; the collector will");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retired_leaf_names_its_day() {
        let date = NaiveDate::from_ymd_opt(2023, 1, 31).expect("date");
        let name = name_of_version_leaf(&Day::new(date), 12, 2);
        assert_eq!(name, "data_sample_retired_20230131_v12_2");
        let prefix = prefix(&Table::sample());
        assert_eq!(day_of(&name, &prefix), Some(date));
        assert_eq!(
            day_of("data_sample_retired_20230131_1f2e3d4c5b6a", &prefix),
            Some(date)
        );
        assert_eq!(
            day_of("data_sample_p20230131_1f2e3d4c5b6a_1", &prefix),
            None
        );
    }
}
