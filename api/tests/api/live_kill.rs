//! Live minutes survive kill -9: the real `api` binary, with `LIVE=on`, is killed at five
//! moments while the generator's live source writes minute files, and started again each
//! time. At the end every minute is in the table exactly once (1,914 rows each), every
//! ledger row says `live`, and no staging table is left.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use generator::{LiveOptions, MinuteRange, generate_live};
use sqlx::PgPool;

use crate::helpers::*;
use crate::process::{ApiProcess, database_url, wait_until};

const LIVE_ENV: [(&str, &str); 3] = [("WATCH", "on"), ("LIVE", "on"), ("SETTLE_SECS", "1")];
const MINUTES: u32 = 120;

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn kill_9_during_live_ingestion_neither_loses_nor_doubles_a_minute(pool: PgPool) {
    let url = database_url(&pool).await;
    let data = tempfile::tempdir().expect("data dir");
    let logs = tempfile::tempdir().expect("log dir");
    let log = logs.path().join("api.log");
    let mut api = ApiProcess::start_with(&url, data.path(), &log, &LIVE_ENV);

    // 10 files a second: the kills land among appends.
    let stop = Arc::new(AtomicBool::new(false));
    let source = {
        let options = LiveOptions {
            out_dir: data.path().to_path_buf(),
            range: MinuteRange::between(minute("2023-01-01 00:00"), minute("2023-01-01 01:59"))
                .expect("range"),
            seed: 0,
            speed: 600.0,
            force: false,
        };
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || generate_live(&options, &|_| {}, &stop))
    };
    for moment in 0..5 {
        // Each process appends before it is killed, some time into its run.
        let before = live_minutes(&pool).await;
        wait_until("this process appends", async || {
            live_minutes(&pool).await > before
        })
        .await;
        tokio::time::sleep(Duration::from_millis(150 * moment)).await;
        api.kill();
        api = ApiProcess::start_with(&url, data.path(), &log, &LIVE_ENV);
    }
    source
        .join()
        .expect("source thread")
        .expect("source writes");
    wait_until("every minute is appended", async || {
        live_minutes(&pool).await == i64::from(MINUTES)
    })
    .await;
    api.kill();

    let per_minute: Vec<i64> = sqlx::query_scalar(
        "SELECT count(*) FROM dwh.data_sample
         WHERE create_at >= '2023-01-01' AND create_at < '2023-01-02'
         GROUP BY date_trunc('minute', create_at) ORDER BY date_trunc('minute', create_at)",
    )
    .fetch_all(&pool)
    .await
    .expect("rows per minute");
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(per_minute.len(), MINUTES as usize, "{log_text}");
    assert!(
        per_minute.iter().all(|&n| n == rows_per_file()),
        "{per_minute:?}"
    );
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
    stop.store(true, Ordering::Relaxed);
}

/// Minutes the ledger says were appended live.
async fn live_minutes(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM ops.minute_files WHERE loaded_by = 'live'")
        .fetch_one(pool)
        .await
        .expect("ledger")
}
