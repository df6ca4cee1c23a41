//! Versions of a day: a replace keeps the old rows, a rollback swaps them back exactly,
//! retention drops the oldest, and an audit refuses a bad load before anyone sees it.

use std::sync::Arc;
use std::time::Duration;

use loader::{
    AuditConfig, LoadError, LoadOptions, Retention, RollbackOptions, list_versions, prune_versions,
    rollback_day,
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

const DATE: &str = "2023-01-01";

/// The committed audits, but with a wrong count of rows per minute only a warning: seed 1
/// has another number of rows per minute than the reference's 1,914.
fn lenient_audits() -> Arc<AuditConfig> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/audits.toml"))
        .expect("the committed audit file")
        .replace(
            "name = \"rows per minute\"\nseverity = \"fail\"",
            "name = \"rows per minute\"\nseverity = \"warn\"",
        );
    Arc::new(AuditConfig::parse(&text, "lenient audits").expect("valid"))
}

fn options_with(audits: Arc<AuditConfig>, retention: Retention) -> LoadOptions {
    LoadOptions {
        audits: Some(audits),
        retention,
        // Seed 1 has fewer rows per minute than seed 0.
        shrink_guard_percent: 0,
        ..options()
    }
}

fn keep(n: u32) -> Retention {
    Retention {
        keep: n,
        ..Retention::default()
    }
}

/// Ten minutes of the dataset drawn with `seed`.
fn ten_minutes(seed: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    add_seeded_minutes(dir.path(), "2023-01-01 00:00", "2023-01-01 00:09", seed);
    dir
}

async fn rollback(pool: &PgPool, version: i32) -> Result<loader::RollbackReport, LoadError> {
    rollback_day(
        pool,
        day(DATE),
        version,
        &RollbackOptions::default(),
        &CancellationToken::new(),
    )
    .await
}

/// (version, current) of each version listed, newest first.
async fn versions(pool: &PgPool) -> Vec<(i32, bool)> {
    list_versions(pool, day(DATE))
        .await
        .expect("versions")
        .iter()
        .map(|v| (v.version, v.current))
        .collect()
}

/// Tables in schema dwh_history but its versions table, named like `pattern`.
async fn history_tables(pool: &PgPool, pattern: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'dwh_history' AND c.relkind = 'r' AND c.relname <> 'versions'
           AND c.relname LIKE $1 ORDER BY 1",
    )
    .bind(pattern)
    .fetch_all(pool)
    .await
    .expect("tables")
}

/// The kept versions' leaves.
async fn kept_tables(pool: &PgPool) -> Vec<String> {
    history_tables(pool, "data\\_sample\\_p%").await
}

/// Leaves no version keeps, waiting for their drop.
async fn retired_tables(pool: &PgPool) -> Vec<String> {
    history_tables(pool, "data\\_sample\\_retired\\_%").await
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_rollback_swaps_each_version_back_exactly(pool: PgPool) {
    let options = options_with(lenient_audits(), Retention::default());
    let first = ten_minutes(0);
    let second = ten_minutes(1);

    let report = load_using(&pool, first.path(), DATE, &options)
        .await
        .expect("first load");
    assert_eq!(report.version, 1);
    assert!(
        report.audits.iter().all(|a| a.passed),
        "{:?}",
        report.audits
    );
    let checksum_first = checksum_of_day(&pool, DATE).await;

    let report = load_using(&pool, second.path(), DATE, &options)
        .await
        .expect("second load");
    assert_eq!(report.version, 2);
    let checksum_second = checksum_of_day(&pool, DATE).await;
    assert_ne!(checksum_first, checksum_second);
    let seed_one_rows = rows_per_file_of_seed(1);
    assert_eq!(rows_of_day(&pool, DATE).await, 10 * seed_one_rows);
    // The warnings are kept with the version.
    let listed = list_versions(&pool, day(DATE)).await.expect("versions");
    let warned: Vec<String> = listed[0]
        .audits
        .iter()
        .filter(|a| !a.passed)
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        warned[0],
        format!(
            "rows per minute: 10 of 10 minutes hold {} rows, expected 1,914",
            loader::thousands(seed_one_rows as u64)
        )
    );
    assert_eq!(versions(&pool).await, [(2, true), (1, false)]);
    assert!(
        listed[1].disk_bytes > 0,
        "the kept version's tables have a size"
    );

    let back = rollback(&pool, 1).await.expect("rollback to the first");
    assert_eq!((back.version, back.replaced_version), (1, Some(2)));
    assert_eq!(back.rows, 10 * rows_per_file());
    assert_eq!(checksum_of_day(&pool, DATE).await, checksum_first);
    assert_eq!(versions(&pool).await, [(2, false), (1, true)]);
    let recorded: (i64, i32) =
        sqlx::query_as("SELECT rows, version FROM dwh.day_loads WHERE day = $1")
            .bind(day(DATE))
            .fetch_one(&pool)
            .await
            .expect("the day's record");
    assert_eq!(recorded, (10 * rows_per_file(), 1));

    rollback(&pool, 2).await.expect("the rollback undone");
    assert_eq!(checksum_of_day(&pool, DATE).await, checksum_second);
    assert_eq!(versions(&pool).await, [(2, true), (1, false)]);
    assert!(leftover_tables(&pool).await.is_empty());
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn retention_drops_the_oldest_versions_beyond_keep(pool: PgPool) {
    let dir = ten_minutes(0);
    let options = options_with(lenient_audits(), keep(1));
    for _ in 0..3 {
        load_using(&pool, dir.path(), DATE, &options)
            .await
            .expect("load");
    }
    // Version 1 was let go when version 3 came in; version 2 is the one kept. Version 1's
    // leaves were retired, not dropped: the swap's caller does not wait for that.
    assert_eq!(versions(&pool).await, [(3, true), (2, false)]);
    assert_eq!(
        retired_tables(&pool).await,
        [
            "data_sample_retired_20230101_v1_1",
            "data_sample_retired_20230101_v1_2"
        ]
    );
    let mut leaves_of_2: Vec<String> = sqlx::query_scalar(
        "SELECT unnest(leaves) FROM dwh_history.versions WHERE day = $1 AND version = 2",
    )
    .bind(day(DATE))
    .fetch_all(&pool)
    .await
    .expect("leaves");
    leaves_of_2.sort();
    assert!(!leaves_of_2.is_empty());
    assert_eq!(
        kept_tables(&pool).await,
        leaves_of_2,
        "only version 2's leaves are kept"
    );
    let error = rollback(&pool, 1).await.expect_err("version 1 is gone");
    assert_eq!(
        error.to_string(),
        "version 1 of 2023-01-01 is not kept (kept: 2)"
    );

    // KEEP_VERSIONS=0: the old rows are no longer kept, as before versions. The load
    // dropped the leaves retired before it (version 1's) while it copied, and retired
    // version 3's (the old rows) and version 2's (let go).
    let options = options_with(lenient_audits(), keep(0));
    let report = load_using(&pool, dir.path(), DATE, &options)
        .await
        .expect("load");
    assert_eq!(report.version, 4);
    assert_eq!(versions(&pool).await, [(4, true)]);
    assert!(kept_tables(&pool).await.is_empty());
    assert!(leftover_tables(&pool).await.is_empty());
    let retired = retired_tables(&pool).await;
    assert_eq!(retired.len(), 4, "{retired:?}");
    assert!(
        retired.iter().all(|name| !name.contains("_v1_")),
        "{retired:?}"
    );
    assert!(retired.contains(&"data_sample_retired_20230101_v2_1".to_owned()));

    // The collector (loader gc, the API's start and hourly housekeeping) drops them.
    let dropped = loader::collect_garbage(&pool).await.expect("gc");
    assert_eq!(dropped.len(), 4, "{dropped:?}");
    assert!(retired_tables(&pool).await.is_empty());
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn kept_versions_age_out(pool: PgPool) {
    let dir = ten_minutes(0);
    let options = options_with(lenient_audits(), Retention::default());
    load_using(&pool, dir.path(), DATE, &options)
        .await
        .expect("load");
    load_using(&pool, dir.path(), DATE, &options)
        .await
        .expect("reload");
    let retention = Retention::default();
    assert!(
        prune_versions(&pool, retention)
            .await
            .expect("prune")
            .is_empty()
    );
    sqlx::query(
        "UPDATE dwh_history.versions SET replaced_at = now() - interval '73 hours'
         WHERE day = $1 AND version = 1",
    )
    .bind(day(DATE))
    .execute(&pool)
    .await
    .expect("age version 1");
    let pruned = prune_versions(&pool, retention).await.expect("prune");
    assert_eq!(pruned, [(day(DATE), 1)]);
    assert_eq!(versions(&pool).await, [(2, true)]);
    assert!(kept_tables(&pool).await.is_empty());
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_failing_audit_leaves_the_day_as_it_was(pool: PgPool) {
    let strict = Arc::new(AuditConfig::defaults());
    let options = options_with(strict, Retention::default());
    load_using(&pool, ten_minutes(0).path(), DATE, &options)
        .await
        .expect("the reference passes the committed audits");
    let before = checksum_of_day(&pool, DATE).await;

    let error = load_using(&pool, ten_minutes(1).path(), DATE, &options)
        .await
        .expect_err("seed 1 has other rows per minute");
    let LoadError::AuditFailed { results, .. } = &error else {
        panic!("expected an audit failure, got {error}");
    };
    assert_eq!(
        error.to_string(),
        format!(
            "the audit refused the load of 2023-01-01; the day is unchanged: rows per minute: \
             10 of 10 minutes hold {} rows, expected 1,914",
            loader::thousands(rows_per_file_of_seed(1) as u64)
        )
    );
    // Every check's result is given, the passed ones too.
    assert_eq!(results.len(), 5);
    assert_eq!(checksum_of_day(&pool, DATE).await, before);
    assert_eq!(versions(&pool).await, [(1, true)]);
    assert!(leftover_tables(&pool).await.is_empty());
    assert!(kept_tables(&pool).await.is_empty());
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_rollback_to_the_current_or_an_unknown_version_is_refused(pool: PgPool) {
    let error = rollback(&pool, 1).await.expect_err("never loaded");
    assert_eq!(
        error.to_string(),
        "version 1 of 2023-01-01 is not kept (kept: none)"
    );
    load(&pool, ten_minutes(0).path(), DATE)
        .await
        .expect("load");
    let before = checksum_of_day(&pool, DATE).await;
    let error = rollback(&pool, 1).await.expect_err("current");
    assert_eq!(
        error.to_string(),
        "version 1 is 2023-01-01's current version already; nothing to roll back"
    );
    assert_eq!(checksum_of_day(&pool, DATE).await, before);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_rollback_waits_for_readers_and_they_see_one_version(pool: PgPool) {
    let dir = ten_minutes(0);
    let options = options_with(lenient_audits(), Retention::default());
    load_using(&pool, dir.path(), DATE, &options)
        .await
        .expect("load");
    let first = checksum_of_day(&pool, DATE).await;
    load_using(&pool, ten_minutes(1).path(), DATE, &options)
        .await
        .expect("reload");

    // A reader in a transaction holds the day: the rollback's swap waits for it.
    let mut reader = pool.begin().await.expect("reader");
    let seen: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM dwh.data_sample WHERE create_at >= '2023-01-01' AND create_at < '2023-01-02'",
    )
    .fetch_one(&mut *reader)
    .await
    .expect("read");
    assert_eq!(seen, 10 * rows_per_file_of_seed(1));
    let task = tokio::spawn({
        let pool = pool.clone();
        async move { rollback(&pool, 1).await }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !swap_is_waiting(&pool).await {
        assert!(
            std::time::Instant::now() < deadline,
            "the swap never waited"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    reader.commit().await.expect("reader ends");
    let report = task.await.expect("joins").expect("rollback");
    assert!(report.swap_attempts >= 1);
    assert_eq!(checksum_of_day(&pool, DATE).await, first);
}
