//! The shrink guard: a replace may not leave a day with fewer than a share of the rows it
//! holds (a producer that wrote half a day should not erase the other half). Checked
//! before the copy when the rows are known, as soon as they are, and again by the swap
//! under its lock.

use sqlx::PgConnection;

use crate::error::LoadError;
use crate::warehouse::day::Day;

/// Refuses to replace a day that holds `old` rows with `new` rows when that would keep
/// less than `percent` % of them.
pub(crate) fn guard_shrink(
    date: chrono::NaiveDate,
    old: Option<i64>,
    new: u64,
    percent: u8,
) -> Result<(), LoadError> {
    let old = old.and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    if percent > 0 && u128::from(new) * 100 < u128::from(old) * u128::from(percent) {
        return Err(LoadError::WouldShrink {
            date,
            from: old,
            to: new,
            percent,
        });
    }
    Ok(())
}

/// The shrink guard before any row is copied, from the day's current record: a load that
/// is bound to be refused at the swap should not copy a day first.
pub(crate) async fn check_shrink(
    conn: &mut PgConnection,
    day: &Day,
    new_rows: u64,
    guard_percent: u8,
) -> Result<(), LoadError> {
    if guard_percent == 0 {
        return Ok(());
    }
    let old: Option<i64> =
        sqlx::query_scalar("SELECT rows FROM dwh.day_loads WHERE day = $1 AND dataset = $2")
            .bind(day.date())
            .bind(day.table().dataset())
            .fetch_optional(conn)
            .await?;
    guard_shrink(day.date(), old, new_rows, guard_percent)
}
