//! The per-day lock: at most one load of a day runs at a time, across every process that
//! shares the database.

use sqlx::{Connection, PgConnection, PgPool};

use crate::day::Day;

/// First key of the two-key advisory lock that guards one day ("dwld"); the second is
/// [`Day::lock_key`].
const DAY_LOCK_CLASS: i32 = 0x6477_6C64;

/// A session-level advisory lock on one day, held on a connection of its own. The
/// connection is detached from the pool, so if the load is dropped or the process dies the
/// connection closes and the server releases the lock: it can never leak into the pool.
#[derive(Debug)]
pub(crate) struct DayLock {
    conn: PgConnection,
    day: Day,
}

impl DayLock {
    /// Takes the day's lock, or `None` when another session holds it.
    pub(crate) async fn try_acquire(pool: &PgPool, day: &Day) -> Result<Option<Self>, sqlx::Error> {
        let mut conn = pool.acquire().await?.detach();
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
            .bind(DAY_LOCK_CLASS)
            .bind(day.lock_key())
            .fetch_one(&mut conn)
            .await?;
        Ok(locked.then(|| Self {
            conn,
            day: day.clone(),
        }))
    }

    /// The lock's connection: statements that must run while the day is held (the swap,
    /// dropping the day's leftovers) run on it.
    pub(crate) fn connection(&mut self) -> &mut PgConnection {
        &mut self.conn
    }

    pub(crate) fn day(&self) -> &Day {
        &self.day
    }

    /// Releases the lock, then closes its connection. The unlock is explicit because the
    /// server frees a closed session's locks only when its backend has exited, which can
    /// be after `close` returns: a load of the same day right after this one would find
    /// the day still busy.
    pub(crate) async fn release(mut self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_unlock($1, $2)")
            .bind(DAY_LOCK_CLASS)
            .bind(self.day.lock_key())
            .execute(&mut self.conn)
            .await?;
        self.conn.close().await
    }
}

/// Takes the day's lock for the rest of the transaction `conn` is in, or answers `false`
/// when a load (or another transaction) holds it: a live minute is appended only while
/// no load of its day runs, and never by two transactions at once.
pub(crate) async fn try_lock_for_transaction(
    conn: &mut PgConnection,
    day: &Day,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, $2)")
        .bind(DAY_LOCK_CLASS)
        .bind(day.lock_key())
        .fetch_one(conn)
        .await
}
