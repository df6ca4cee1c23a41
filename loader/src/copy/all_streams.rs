//! The COPY phase of a load: its streams side by side, each into its part's staging
//! table, with the footer checks still ahead of them (a bucket planned by names), and the
//! progress they report.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::copy::ahead::Ahead;
use crate::copy::one_stream::{
    FileDone, StreamCopied, StreamInput, StreamSettings, Tally, copy_stream,
};
use crate::copy::progress::{LoadProgress, Totals};
use crate::error::LoadError;
use crate::warehouse::day_lock::DayLock;
use crate::warehouse::shrink_guard;
use crate::warehouse::staging::Staging;

/// The COPY phase of a load: what its streams share.
pub(crate) struct CopyPhase<'a> {
    pub staging: &'a Staging,
    pub totals: &'a Totals,
    pub settings: StreamSettings<'a>,
    pub shrink_guard: u8,
    pub progress: &'a (dyn Fn(LoadProgress) + Send + Sync),
}

impl CopyPhase<'_> {
    /// Runs the COPY streams side by side, each into its part's staging table (`inputs`:
    /// each table's streams), and the footer checks still ahead of them, and returns the
    /// rows stored and what the streams counted. When one fails, the others are stopped
    /// cleanly (their COPYs aborted) and the first real error is returned.
    pub(crate) async fn run(
        &self,
        pool: &PgPool,
        lock: &mut DayLock,
        inputs: Vec<Vec<StreamInput>>,
        ahead: Option<Ahead>,
        cancel: &CancellationToken,
    ) -> Result<(u64, Tally), LoadError> {
        let day = self.staging.day();
        let done = Done::default();
        let on_file = |file: FileDone| {
            let now = done.add(file);
            if let Some(totals) = self.totals.progress() {
                (self.progress)(now.with_totals(totals));
            }
        };
        let siblings = cancel.child_token();
        let streams = self
            .staging
            .tables()
            .iter()
            .zip(inputs)
            .flat_map(|(table, inputs)| inputs.into_iter().map(move |input| (table, input)));
        let copies = streams.map(|(table, input)| {
            let (siblings, on_file, settings) = (&siblings, &on_file, self.settings);
            async move {
                let result =
                    copy_stream(pool, table, input, day, settings, on_file, siblings).await;
                if result.is_err() {
                    siblings.cancel();
                }
                result
            }
        });
        let checks = async {
            let result = self.check_ahead(lock, ahead, &done, &siblings).await;
            if result.is_err() {
                siblings.cancel();
            }
            result
        };
        let (results, checked) = futures::join!(futures::future::join_all(copies), checks);
        first_error(results, checked, cancel, day.date())
    }

    /// Runs the footer checks still ahead of the streams, if any; once all have passed,
    /// reports the day's totals and applies the shrink guard.
    async fn check_ahead(
        &self,
        lock: &mut DayLock,
        ahead: Option<Ahead>,
        done: &Done,
        siblings: &CancellationToken,
    ) -> Result<(), LoadError> {
        let Some(ahead) = ahead else {
            return Ok(());
        };
        let rows = tokio::select! {
            rows = ahead.run() => rows,
            () = siblings.cancelled() => None,
        };
        // Without the rows, a check failed or a stream stopped: the streams say why.
        let Some(rows) = rows else {
            return Ok(());
        };
        self.totals.set_rows(rows);
        if let Some(totals) = self.totals.progress() {
            (self.progress)(done.now().with_totals(totals));
        }
        let day = self.staging.day();
        shrink_guard::check_shrink(lock.connection(), day, rows, self.shrink_guard).await
    }
}

/// Files, rows and bytes the streams have copied so far.
#[derive(Default)]
struct Done {
    files: AtomicU64,
    rows: AtomicU64,
    bytes: AtomicU64,
}

impl Done {
    /// Counts one more file; returns the counts with it.
    fn add(&self, file: FileDone) -> LoadProgress {
        LoadProgress {
            files_done: self.files.fetch_add(1, Ordering::Relaxed) + 1,
            rows_done: self.rows.fetch_add(file.rows, Ordering::Relaxed) + file.rows,
            bytes_done: self.bytes.fetch_add(file.source_bytes, Ordering::Relaxed)
                + file.source_bytes,
            ..LoadProgress::default()
        }
    }

    fn now(&self) -> LoadProgress {
        LoadProgress {
            files_done: self.files.load(Ordering::Relaxed),
            rows_done: self.rows.load(Ordering::Relaxed),
            bytes_done: self.bytes.load(Ordering::Relaxed),
            ..LoadProgress::default()
        }
    }
}

impl LoadProgress {
    /// These counts of what is done, with the totals of `totals`.
    fn with_totals(self, totals: LoadProgress) -> LoadProgress {
        LoadProgress {
            files_total: totals.files_total,
            rows_total: totals.rows_total,
            bytes_total: totals.bytes_total,
            ..self
        }
    }
}

/// The rows and counts of the streams, or the first real error among them and the footer
/// checks: a sibling's cancellation is a consequence, not a cause.
fn first_error(
    results: Vec<Result<StreamCopied, LoadError>>,
    checked: Result<(), LoadError>,
    cancel: &CancellationToken,
    date: NaiveDate,
) -> Result<(u64, Tally), LoadError> {
    let mut rows = 0;
    let mut tally = Tally::new(false, None);
    let mut first_error: Option<LoadError> = checked.err();
    for result in results {
        match result {
            Ok(copied) => {
                rows += copied.rows;
                tally.merge(copied.tally);
            }
            Err(LoadError::Cancelled { .. }) if !cancel.is_cancelled() => {}
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    match first_error {
        Some(error) => Err(error),
        None if cancel.is_cancelled() => Err(LoadError::Cancelled { date }),
        None => Ok((rows, tally)),
    }
}
