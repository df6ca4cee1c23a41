//! A declared dataset's days load by themselves, as the sample's do (`settle`): once none
//! of a day's files (nor its marker) changed for `SETTLE_SECS` and the dataset's
//! completeness rule says the day is whole — every file of its cadence, its marker
//! written, or with `complete = "any"` any file at all — a job is queued (`auto`), or a
//! reload (`changed`) when the day was loaded from other files. Once per change.

use std::time::Duration;

use chrono::NaiveDate;

use super::Pipeline;
use super::settle::{Verdict, settled};
use crate::catalog::ServedDataset;
use crate::domain::Loaded;
use crate::ledger::dataset_files::{self, DatasetDay};
use crate::queue::{self, NewJob};

/// What the ledger, the load record and the jobs say of a day, before its files are
/// judged: `None` when nothing is to be done, a wait while it settles, or the trigger a
/// job of it would have.
pub fn verdict_before_listing(
    day: &DatasetDay,
    loaded: Option<Loaded>,
    job_since_last_change: bool,
    settle: Duration,
) -> Verdict {
    if job_since_last_change || day.files.files == 0 {
        return Verdict::Nothing;
    }
    settled(&day.files, loaded, (day.last_change, day.now), settle)
}

/// Decides about `day` of `dataset` and queues its job when due, in one transaction under
/// the day's decision lock, so that instances watching the same source queue it once. A
/// day the ledger finds settled is listed as its load would list it, and queued only when
/// its completeness rule says it is whole (and not ambiguous).
pub async fn settle_dataset_day(
    pipeline: &Pipeline,
    dataset: &ServedDataset,
    day: NaiveDate,
) -> Result<Verdict, anyhow::Error> {
    let name = dataset.name();
    let mut tx = pipeline.pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('dwh settle ' || $1), $2)")
        .bind(name)
        .bind(chrono::Datelike::num_days_from_ce(&day))
        .execute(&mut *tx)
        .await?;
    let now = dataset_files::day(&mut tx, name, day).await?;
    let loaded: Option<(i32, i64, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "SELECT files, bytes, loaded_at FROM dwh.day_loads WHERE dataset = $1 AND day = $2",
    )
    .bind(name)
    .bind(day)
    .fetch_optional(&mut *tx)
    .await?;
    let job_since: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM ops.jobs
                        WHERE dataset = $1 AND date = $2 AND created_at >= $3)",
    )
    .bind(name)
    .bind(day)
    .bind(now.last_change)
    .fetch_one(&mut *tx)
    .await?;
    let loaded = loaded.map(|(files, bytes, at)| Loaded { files, bytes, at });
    let verdict = verdict_before_listing(&now, loaded, job_since, pipeline.settle);
    let Verdict::Queue(trigger) = verdict else {
        return Ok(verdict);
    };
    let listed = dataset
        .source
        .list_layout_day(&dataset.dataset.layout, day)
        .await?;
    if let Err(why) = listed.judge(false) {
        // Not whole yet (or ambiguous): a later change of its files brings it back.
        tracing::debug!(dataset = name, %day, %why, "a settled day is not whole");
        return Ok(Verdict::Nothing);
    }
    let job = NewJob {
        max_attempts: pipeline.max_attempts,
        allow_partial: false,
        force: false,
        trigger,
        rollback_to: None,
    };
    match queue::try_insert(&mut *tx, name, day, job).await? {
        Some(job) => {
            tracing::info!(job_id = %job.id, dataset = name, %day, ?trigger, "queued a day whose files are whole");
        }
        // An earlier job of the day is still queued or running: decide again later.
        None => return Ok(Verdict::Wait(Duration::from_secs(1))),
    }
    tx.commit().await?;
    Ok(verdict)
}
