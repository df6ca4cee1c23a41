//! The per-day lock: at most one load of a day runs at a time, across every process that
//! shares the database.

use sqlx::{Connection, PgConnection, PgPool};

use crate::error::LoadError;
use crate::warehouse::day::Day;

/// What a session holding a day's lock calls itself (`application_name`), so that
/// whoever finds the day locked can tell a load from a stranger.
const HOLDER_NAME: &str = "dwh-loader day lock";

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
        Ok(Self::try_take(pool, day).await?.ok())
    }

    /// Takes the day's lock for a load or a rollback; when another session holds it, says
    /// whose it is: another load's ([`LoadError::DayBusy`]), or a session that is no
    /// loader's ([`LoadError::DayLockedByOther`], with its pid and role: anyone who may
    /// connect can take an advisory lock, and keep a day from loading until it lets go).
    pub(crate) async fn acquire(pool: &PgPool, day: &Day) -> Result<Self, LoadError> {
        let mut conn = match Self::try_take(pool, day).await? {
            Ok(lock) => return Ok(lock),
            Err(conn) => conn,
        };
        let holder = holder_of(&mut conn, day).await;
        conn.close().await.ok();
        let date = day.date();
        match holder? {
            Some(holder) if !holder.ours => Err(LoadError::DayLockedByOther {
                date,
                pid: holder.pid,
                role: holder.role,
                application: holder.application,
            }),
            _ => Err(LoadError::DayBusy { date }),
        }
    }

    /// The lock, or the connection that could not take it.
    async fn try_take(pool: &PgPool, day: &Day) -> Result<Result<Self, PgConnection>, sqlx::Error> {
        let mut conn = pool.acquire().await?.detach();
        let locked: bool = sqlx::query_scalar(
            "SELECT set_config('application_name', $3, false) IS NOT NULL
                    AND pg_try_advisory_lock($1, $2)",
        )
        .bind(day.lock_keys().0)
        .bind(day.lock_keys().1)
        .bind(HOLDER_NAME)
        .fetch_one(&mut conn)
        .await?;
        Ok(if locked {
            Ok(Self {
                conn,
                day: day.clone(),
            })
        } else {
            Err(conn)
        })
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
            .bind(self.day.lock_keys().0)
            .bind(self.day.lock_keys().1)
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
        .bind(day.lock_keys().0)
        .bind(day.lock_keys().1)
        .fetch_one(conn)
        .await
}

/// The session holding a day's lock.
#[derive(Debug)]
struct Holder {
    pid: i32,
    role: String,
    application: String,
    /// A loader's: it calls itself so, or connects as the same role as we do.
    ours: bool,
}

/// Who holds `day`'s lock (`None` if nobody does any more).
async fn holder_of(conn: &mut PgConnection, day: &Day) -> Result<Option<Holder>, sqlx::Error> {
    let found: Option<(i32, String, String, bool)> = sqlx::query_as(
        "SELECT a.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''),
                a.usename = current_user OR starts_with(a.application_name, 'dwh-loader')
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
           AND l.classid::bigint = $1 AND l.objid::bigint = $2
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
         LIMIT 1",
    )
    .bind(i64::from(day.lock_keys().0))
    .bind(i64::from(day.lock_keys().1))
    .fetch_optional(conn)
    .await?;
    Ok(found.map(|(pid, role, application, ours)| Holder {
        pid,
        role,
        application,
        ours,
    }))
}
