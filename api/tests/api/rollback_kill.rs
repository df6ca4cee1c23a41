//! The real `api` binary is killed with SIGKILL during rollbacks: while the swap waits for
//! a reader, and at moments just after the reader lets it go. Each time exactly one
//! version is visible, whole, and the versions table agrees with what readers see; the
//! restarted process finishes the rollback.

use std::time::Duration;

use loader::{LoadOptions, load_day};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::helpers::*;
use crate::process::{ApiProcess, database_url, job_row, wait_until};

const DAY: &str = "2023-01-01";

/// Loads ten minutes of the dataset drawn with `seed` as the day's next version; returns
/// the day's checksum.
async fn load_version(pool: &PgPool, seed: u64) -> String {
    let dir = tempfile::tempdir().expect("dir");
    add_seeded_minutes(dir.path(), "2023-01-01 00:00", "2023-01-01 00:09", seed);
    let options = LoadOptions {
        allow_partial: true,
        shrink_guard_percent: 0,
        ..LoadOptions::default()
    };
    load_day(
        pool,
        dir.path(),
        day(DAY),
        &options,
        &|_| {},
        &CancellationToken::new(),
    )
    .await
    .expect("load");
    checksum_of_day(pool, DAY).await
}

async fn queue_rollback(pool: &PgPool, version: i32) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO ops.jobs (id, date, max_attempts, trigger, rollback_to)
         VALUES ($1, $2::date, 50, 'rollback', $3)",
    )
    .bind(id)
    .bind(DAY)
    .bind(version)
    .execute(pool)
    .await
    .expect("queue");
    id
}

/// The version readers see, checked against the records: the day's record and the
/// versions table name the same one current, the other version's leaves are all kept, and
/// no staging or retired table is left in `dwh`.
async fn visible_version(pool: &PgPool) -> i32 {
    let (recorded, current, kept_leaves_present): (i32, Vec<i32>, bool) = sqlx::query_as(
        "SELECT (SELECT version FROM dwh.day_loads WHERE day = $1::date),
                (SELECT array_agg(version) FROM dwh_history.versions
                 WHERE day = $1::date AND replaced_at IS NULL),
                (SELECT coalesce(bool_and(to_regclass('dwh_history.' || quote_ident(l)) IS NOT NULL), false)
                 FROM dwh_history.versions v, unnest(v.leaves) l
                 WHERE v.day = $1::date AND v.pruned_at IS NULL)",
    )
    .bind(DAY)
    .fetch_one(pool)
    .await
    .expect("records");
    assert_eq!(current, [recorded], "one current version, the recorded one");
    assert!(
        kept_leaves_present,
        "the kept version's leaves are all there"
    );
    assert!(leftover_tables(pool).await.is_empty());
    recorded
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn kill_9_during_a_rollback_leaves_exactly_one_version(pool: PgPool) {
    let checksums = [load_version(&pool, 0).await, load_version(&pool, 1).await];
    let data = tempfile::tempdir().expect("dir");
    let logs = tempfile::tempdir().expect("dir");
    let log = logs.path().join("api.log");
    let url = database_url(&pool).await;
    let mut current = 2;
    // None: killed while the swap waits; Some(d): this long after the reader let it go.
    let moments = [
        None,
        Some(Duration::ZERO),
        Some(Duration::from_millis(1)),
        Some(Duration::from_millis(3)),
        Some(Duration::from_millis(10)),
    ];
    for moment in moments {
        let target = 3 - current;
        let blocker = block_swaps(&pool).await;
        let process = ApiProcess::start(&url, data.path(), &log);
        let id = queue_rollback(&pool, target).await;
        wait_until("the rollback waits at its swap", async || {
            swap_is_waiting(&pool).await
        })
        .await;
        match moment {
            None => {
                process.kill();
                blocker.rollback().await.expect("release");
            }
            Some(delay) => {
                blocker.rollback().await.expect("release");
                tokio::time::sleep(delay).await;
                process.kill();
            }
        }
        // The day first: reading it waits for a swap the killed process left in flight
        // (its COMMIT may be on the wire); the records read after it are final.
        let checksum = checksum_of_day(&pool, DAY).await;
        let visible = visible_version(&pool).await;
        println!("killed {moment:?}: version {visible} visible (rolling {current} → {target})");
        assert!(
            visible == current || visible == target,
            "{moment:?}: {visible}"
        );
        assert_eq!(
            checksum,
            checksums[visible as usize - 1],
            "{moment:?}: readers see version {visible} whole"
        );
        let finished = job_row(&pool, id).await.status == "succeeded";
        assert_eq!(
            finished,
            visible == target,
            "{moment:?}: the job says what happened"
        );

        let process = ApiProcess::start(&url, data.path(), &log);
        wait_until("the rollback succeeds", async || {
            job_row(&pool, id).await.status == "succeeded"
        })
        .await;
        process.terminate();
        assert_eq!(visible_version(&pool).await, target);
        assert_eq!(
            checksum_of_day(&pool, DAY).await,
            checksums[target as usize - 1]
        );
        current = target;
    }
}
