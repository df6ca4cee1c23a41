//! What readers of `dwh.data_sample` see, in plain SQL.

use sqlx::PgPool;

use crate::files::day;

/// Rows readers see for `date` (`YYYY-MM-DD`) through the partitioned table.
pub async fn rows_of_day(pool: &PgPool, date: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM dwh.data_sample WHERE create_at >= $1::date AND create_at < $1::date + 1",
    )
    .bind(day(date))
    .fetch_one(pool)
    .await
    .expect("count")
}

/// An order-independent fingerprint of the day's values.
pub async fn checksum_of_day(pool: &PgPool, date: &str) -> String {
    sqlx::query_scalar(
        "SELECT md5(string_agg(md5(t::text), '' ORDER BY md5(t::text)))
         FROM dwh.data_sample t WHERE create_at >= $1::date AND create_at < $1::date + 1",
    )
    .bind(day(date))
    .fetch_one(pool)
    .await
    .expect("checksum")
}

/// Tables in schemas `dwh` and `dwh_staging` other than the parent, its partitions and `day_loads`:
/// leftovers of loads (staging tables, retired leaves).
pub async fn leftover_tables(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname IN ('dwh', 'dwh_staging') AND c.relkind = 'r' AND NOT c.relispartition
           AND c.relname <> 'day_loads' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("list tables")
}

/// Whether a session of this test's database (other tests swap days of their own at the
/// same time) waits for a lock to detach or attach a partition: a swap held back by a
/// reader or by a lock the test took.
pub async fn swap_is_waiting(pool: &PgPool) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM pg_stat_activity
                        WHERE datname = current_database() AND wait_event_type = 'Lock'
                          AND query LIKE '%PARTITION%')",
    )
    .fetch_one(pool)
    .await
    .expect("pg_stat_activity")
}
