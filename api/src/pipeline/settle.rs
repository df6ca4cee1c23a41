//! Complete days load by themselves: once a day has all its minute files and none has
//! changed for `SETTLE_SECS`, a job is queued for it (`auto`), or, when it was loaded and
//! its files differ from that load, a reload (`changed`). Once per change: a day that
//! has a job created after its last change gets no other, whatever became of that job.

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use loader::FilesSummary;
use sqlx::PgPool;

use crate::domain::{JobTrigger, Loaded};
use crate::ledger::{self, LedgerDay};
use crate::queue::{self, NewJob};

/// First key of the advisory lock that makes one decision per day at a time across
/// instances ("dwst"); the second is the day.
const SETTLE_LOCK_CLASS: i32 = 0x6477_7374;

/// What to do about a day now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Queue(JobTrigger),
    /// Complete and due, but not settled: ask again after this long.
    Wait(Duration),
    /// Nothing to do until its files change.
    Nothing,
}

/// The verdict for a day from what the ledger, its load record and its jobs say.
pub fn verdict(
    day: &LedgerDay,
    loaded: Option<Loaded>,
    job_since_last_change: bool,
    settle: Duration,
) -> Verdict {
    // A day with stray names would be refused as ambiguous: it waits until they go.
    if job_since_last_change || day.files.files < loader::MINUTES_PER_DAY || day.strays > 0 {
        return Verdict::Nothing;
    }
    settled(&day.files, loaded, (day.last_change, day.now), settle)
}

/// The verdict for a day whose files may be whole, every dataset's alike: a job (`auto`,
/// or `changed` when its files differ from its load) once nothing changed for `settle`;
/// nothing for a day loaded from these files. `changed` is (last change, now).
pub fn settled(
    files: &FilesSummary,
    loaded: Option<Loaded>,
    (last_change, now): (Option<DateTime<Utc>>, DateTime<Utc>),
    settle: Duration,
) -> Verdict {
    let trigger = match loaded {
        None => JobTrigger::Auto,
        Some(loaded) if loaded.differs_from(files) => JobTrigger::Changed,
        Some(_) => return Verdict::Nothing,
    };
    let quiet = last_change
        .and_then(|changed| (now - changed).to_std().ok())
        .unwrap_or_default();
    match settle.checked_sub(quiet) {
        Some(left) if !left.is_zero() => Verdict::Wait(left),
        _ => Verdict::Queue(trigger),
    }
}

/// Decides about `day` and queues its job when due, in one transaction under the day's
/// decision lock, so that instances watching the same directory queue it once.
pub async fn settle_day(
    pool: &PgPool,
    day: NaiveDate,
    settle: Duration,
    max_attempts: i32,
) -> Result<Verdict, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(SETTLE_LOCK_CLASS)
        .bind(day.num_days_from_ce())
        .execute(&mut *tx)
        .await?;
    let now = ledger::day(&mut tx, day).await?;
    let loaded: Option<(i32, i64, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "SELECT files, bytes, loaded_at FROM dwh.day_loads
             WHERE day = $1 AND dataset = 'sample'",
    )
    .bind(day)
    .fetch_optional(&mut *tx)
    .await?;
    let job_since: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM ops.jobs
                        WHERE dataset = 'sample' AND date = $1 AND created_at >= $2)",
    )
    .bind(day)
    .bind(now.last_change)
    .fetch_one(&mut *tx)
    .await?;
    let loaded = loaded.map(|(files, bytes, at)| Loaded { files, bytes, at });
    let verdict = verdict(&now, loaded, job_since, settle);
    if let Verdict::Queue(trigger) = verdict {
        let job = NewJob {
            max_attempts,
            allow_partial: false,
            force: false,
            trigger,
            rollback_to: None,
        };
        match queue::try_insert(&mut *tx, loader::SAMPLE_DATASET, day, job).await? {
            Some(job) => {
                tracing::info!(job_id = %job.id, %day, trigger = ?trigger, "queued a day whose files are complete");
            }
            // An earlier job of the day is still queued or running: decide again later.
            None => return Ok(Verdict::Wait(Duration::from_secs(1))),
        }
    }
    tx.commit().await?;
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use chrono::TimeDelta;

    use super::*;

    const SETTLE: Duration = Duration::from_secs(10);

    fn day(files: usize, quiet_secs: i64) -> LedgerDay {
        let now = DateTime::<Utc>::from(SystemTime::UNIX_EPOCH) + TimeDelta::days(1);
        LedgerDay {
            files: FilesSummary {
                files,
                bytes: 1000,
                newest: Some(SystemTime::UNIX_EPOCH),
            },
            last_change: Some(now - TimeDelta::seconds(quiet_secs)),
            now,
            strays: 0,
        }
    }

    fn loaded(bytes: i64) -> Loaded {
        Loaded {
            files: 1440,
            bytes,
            at: DateTime::from(SystemTime::UNIX_EPOCH) + TimeDelta::hours(1),
        }
    }

    #[test]
    fn a_complete_settled_day_never_loaded_is_queued_auto() {
        let verdict = verdict(&day(1440, 10), None, false, SETTLE);
        assert_eq!(verdict, Verdict::Queue(JobTrigger::Auto));
    }

    #[test]
    fn a_day_still_changing_waits_for_the_rest_of_its_settle_time() {
        let verdict = verdict(&day(1440, 4), None, false, SETTLE);
        assert_eq!(verdict, Verdict::Wait(Duration::from_secs(6)));
    }

    #[test]
    fn an_incomplete_or_ambiguous_day_or_one_with_a_job_since_its_change_gets_nothing() {
        let ambiguous = LedgerDay {
            strays: 1,
            ..day(1440, 60)
        };
        assert_eq!(verdict(&ambiguous, None, false, SETTLE), Verdict::Nothing);
        assert_eq!(
            verdict(&day(1439, 60), None, false, SETTLE),
            Verdict::Nothing
        );
        assert_eq!(
            verdict(&day(1440, 60), None, true, SETTLE),
            Verdict::Nothing
        );
    }

    #[test]
    fn a_loaded_day_is_queued_again_only_when_its_files_differ() {
        assert_eq!(
            verdict(&day(1440, 60), Some(loaded(1000)), false, SETTLE),
            Verdict::Nothing
        );
        assert_eq!(
            verdict(&day(1440, 60), Some(loaded(999)), false, SETTLE),
            Verdict::Queue(JobTrigger::Changed)
        );
    }
}
