//! `loader gc` and `loader rollback`: tidying a dataset's leftovers, and swapping a kept
//! version of a day back in.

use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;
use loader::{RetentionSettings, RollbackOptions, Table};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::listings::list;

/// Drops `table`'s leftovers of killed loads and its versions beyond retention.
pub(crate) async fn collect_garbage(
    pool: &PgPool,
    table: &Arc<Table>,
    retention: &RetentionSettings,
) -> anyhow::Result<()> {
    let dropped = loader::collect_garbage_of(pool, table).await?;
    println!(
        "dropped {} table(s) (staging tables of killed loads, retired leaves){}",
        dropped.len(),
        list(&dropped)
    );
    let pruned = loader::prune_versions_of(pool, table, retention.retention()).await?;
    let pruned: Vec<String> = pruned.iter().map(|(d, v)| format!("{d} v{v}")).collect();
    println!("dropped {} kept version(s){}", pruned.len(), list(&pruned));
    Ok(())
}

/// Makes kept `version` of `date` current again.
pub(crate) async fn roll_back(
    pool: &PgPool,
    table: &Arc<Table>,
    date: NaiveDate,
    version: i32,
    retention: &RetentionSettings,
) -> anyhow::Result<()> {
    let options = RollbackOptions {
        retention: retention.retention(),
        ..RollbackOptions::default()
    };
    let cancel = CancellationToken::new();
    let report = loader::rollback_day_of(pool, table, date, version, &options, &cancel)
        .await
        .with_context(|| format!("rolling {date} back failed; the day is unchanged"))?;
    println!(
        "{date}: version {} is current ({} rows; swap {:.1} ms){}",
        report.version,
        report.rows,
        report.swap_duration.as_secs_f64() * 1e3,
        report
            .replaced_version
            .map_or_else(String::new, |v| format!("; version {v} is kept"))
    );
    Ok(())
}
