//! `load_day`: the whole replace of one day, from files to the swap: it runs the phases
//! (`files`, `copy`, `publish`) in order, on the warehouse's day lock.

mod dataset;
pub(crate) mod options;
pub(crate) mod report;

pub use dataset::load_dataset_day;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::copy::all_streams::CopyPhase;
use crate::copy::facts::FactsPlan;
use crate::copy::names::NameCounts;
use crate::copy::one_stream::StreamSettings;
use crate::copy::prepare::{Prepared, prepare};
use crate::copy::progress::{LoadProgress, Totals};
use crate::error::LoadError;
use crate::fence;
use crate::files::layout::Layout;
use crate::files::location::DataSource;
use crate::load::options::LoadOptions;
use crate::load::report::{LoadPhases, LoadReport};
use crate::publish::audit::{self, Audited, Counted};
use crate::publish::swap::{self, DayLoad, SwapOutcome};
use crate::warehouse::day::{Day, MissingMinutes};
use crate::warehouse::day_lock::DayLock;
use crate::warehouse::indexes;
use crate::warehouse::retired;
use crate::warehouse::shrink_guard;
use crate::warehouse::staging::{self, Staging};
use crate::warehouse::table::Table;

/// Replaces the rows of `date` in `dwh.data_sample` with the rows of the day's minute files
/// in `source_dir` (`YYYY-MM-DD HH:MM:00.parquet`, one per minute).
///
/// An ambiguous day is refused, and an incomplete one unless `allow_partial`; a replace
/// that would shrink the day below the shrink guard is refused unless `force`. Every
/// file's schema is checked before anything is written; values are checked while
/// streaming. On any error, or when `cancel` fires before the swap, the staging tables are
/// dropped and the day keeps its old rows. Only one load of a day runs at a time across all
/// processes sharing the database ([`LoadError::DayBusy`] otherwise).
pub async fn load_day(
    pool: &PgPool,
    source_dir: &Path,
    date: NaiveDate,
    options: &LoadOptions,
    progress: &(dyn Fn(LoadProgress) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<LoadReport, LoadError> {
    let source = DataSource::Dir(source_dir.to_path_buf());
    load_day_from(pool, &source, date, options, progress, cancel).await
}

/// [`load_day`] from a directory or a bucket.
pub async fn load_day_from(
    pool: &PgPool,
    source: &DataSource,
    date: NaiveDate,
    options: &LoadOptions,
    progress: &(dyn Fn(LoadProgress) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<LoadReport, LoadError> {
    let target = Target {
        source,
        layout: &Layout::SampleMinutes,
        table: Table::sample(),
    };
    load_target(pool, &target, date, options, progress, cancel).await
}

/// What a load reads and writes: the files, how they are laid out, and the table.
struct Target<'a> {
    source: &'a DataSource,
    layout: &'a Layout,
    table: Arc<Table>,
}

/// A load of `target`'s day; planned again from every footer when the plan by names
/// proves wrong.
async fn load_target(
    pool: &PgPool,
    target: &Target<'_>,
    date: NaiveDate,
    options: &LoadOptions,
    progress: &(dyn Fn(LoadProgress) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<LoadReport, LoadError> {
    match load_once(pool, target, date, options, true, progress, cancel).await {
        Err(LoadError::PlanRefuted { file }) => {
            tracing::info!(
                %date, file = %file.display(),
                "a footer refuted the plan by names; loading again with every footer read first"
            );
            load_once(pool, target, date, options, false, progress, cancel).await
        }
        done => done,
    }
}

/// One try of [`load_target`]; `ahead`: a bucket's footers may be read while the COPY
/// runs.
async fn load_once(
    pool: &PgPool,
    target: &Target<'_>,
    date: NaiveDate,
    options: &LoadOptions,
    ahead: bool,
    progress: &(dyn Fn(LoadProgress) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<LoadReport, LoadError> {
    let started = Instant::now();
    let (day, facts) = day_and_facts(target, date, options)?;
    let prepared = prepare(
        target.source,
        target.layout,
        &day,
        options.streams,
        options.allow_partial,
        ahead,
        cancel,
    )
    .await?;
    let prepared_at = Instant::now();
    if let Some(totals) = prepared.totals.progress() {
        progress(totals);
    }

    let (mut lock, staging) = set_up(pool, &day, &prepared, options).await?;
    tracing::info!(
        %date, files = prepared.totals.files, bytes = prepared.totals.bytes,
        footers_ahead = prepared.ahead.is_some(), staging = %staging.names(), "loading"
    );

    let files = prepared.totals.files;
    let bytes = prepared.totals.bytes;
    let missing = prepared.missing.clone();
    let set_up_at = Instant::now();
    let planned = Planned { prepared, facts };
    // The leaves earlier swaps of the day retired are dropped while the rows stream: the
    // server frees their files on a core the COPY leaves idle at times.
    let (result, ()) = tokio::join!(
        fill_and_swap(
            pool, &mut lock, &staging, planned, options, progress, cancel
        ),
        retired::drop_day_alongside(pool, &day),
    );
    if result.is_err()
        && let Err(error) = staging.drop_tables(lock.connection()).await
    {
        // The tables are found and dropped by the next load of the day or by `gc`.
        tracing::warn!(%error, staging = %staging.names(), "could not drop the staging tables");
    }
    lock.release().await.ok();
    let filled = result?;
    let phases = phases_of(&filled, [started, prepared_at, set_up_at]);
    let report = LoadReport {
        date,
        files,
        rows: filled.rows,
        source_bytes: bytes,
        elapsed: started.elapsed(),
        copy_duration: filled.copy_duration,
        swap_duration: filled.swap.duration,
        swap_attempts: filled.swap.attempts,
        replaced_rows: filled.swap.replaced_rows,
        missing_minutes: missing,
        version: filled.swap.version,
        audits: filled.audited.results,
        audit_duration: filled.audited.duration,
        phases,
    };
    tracing::info!(
        %date, rows = report.rows, seconds = report.elapsed.as_secs_f64(),
        swap_ms = report.swap_duration.as_millis() as u64, "day replaced"
    );
    Ok(report)
}

/// Where the load's time went, from when it `started`, was prepared and was set up.
fn phases_of(filled: &Filled, [started, prepared_at, set_up_at]: [Instant; 3]) -> LoadPhases {
    LoadPhases {
        prepare: prepared_at - started,
        setup: set_up_at - prepared_at,
        indexes: filled.index_duration,
        swap: filled.swap_waited,
        after_swap: filled.swap.after_commit,
    }
}

/// Takes the day's lock and readies the staging tables: the fence asked, leftovers of a
/// dead load dropped, the shrink guard checked early, the shared tables created.
async fn set_up(
    pool: &PgPool,
    day: &Day,
    prepared: &Prepared,
    options: &LoadOptions,
) -> Result<(DayLock, Staging), LoadError> {
    let date = day.date();
    let mut lock = DayLock::acquire(pool, day).await?;
    if let Err(error) = fence::check(options.fence.as_ref(), lock.connection(), date).await {
        lock.release().await.ok();
        return Err(error);
    }
    staging::drop_leftovers_for_day(&mut lock).await?;
    // Fail fast, before any row is copied (when the rows are not known yet, as soon as
    // they are); the swap checks again, under its lock.
    if let Some(rows) = prepared.totals.rows()
        && let Err(error) =
            shrink_guard::check_shrink(lock.connection(), day, rows, options.shrink_guard()).await
    {
        lock.release().await.ok();
        return Err(error);
    }
    // The declared indexes made on the table (nothing built; a bad one fails here), and
    // every index it has, to be built on the staging tables.
    let indexes = match indexes::ensure_declared(lock.connection(), day.table()).await {
        Ok(()) => indexes::of_table(lock.connection(), day.table()).await?,
        Err(error) => {
            lock.release().await.ok();
            return Err(error);
        }
    };
    let staging =
        Staging::new(day, prepared.parts.iter().map(|p| (p.0, p.1.len()))).with_indexes(indexes);
    staging.create_shared(lock.connection()).await?;
    Ok((lock, staging))
}

/// What [`fill_and_swap`] did.
struct Filled {
    rows: u64,
    copy_duration: Duration,
    index_duration: Duration,
    audited: Audited,
    swap: SwapOutcome,
    /// The swap, every attempt up to its commit.
    swap_waited: Duration,
}

/// What a load copies, and what its audit needs counted on the way.
struct Planned {
    prepared: Prepared,
    facts: Option<FactsPlan>,
}

/// Copies the prepared streams into the staging tables, audits them and swaps them in.
async fn fill_and_swap(
    pool: &PgPool,
    lock: &mut DayLock,
    staging: &Staging,
    planned: Planned,
    options: &LoadOptions,
    progress: &(dyn Fn(LoadProgress) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<Filled, LoadError> {
    let date = lock.day().date();
    let copy_started = Instant::now();
    let Planned { prepared, facts } = planned;
    let settings = StreamSettings {
        analyze: options.analyze,
        fence: options.fence.as_ref(),
        facts: facts.as_ref(),
    };
    let Prepared {
        parts,
        totals,
        ahead,
        missing,
        unit,
    } = prepared;
    let inputs = parts.into_iter().map(|(_, inputs)| inputs).collect();
    let copy = CopyPhase {
        staging,
        totals: &totals,
        settings,
        shrink_guard: options.shrink_guard(),
        progress,
    };
    let (rows, tally) = copy.run(pool, lock, inputs, ahead, cancel).await?;
    check_row_count(date, rows, &totals)?;
    if options.analyze {
        staging.analyze_shared(lock.connection()).await?;
    }
    let copy_duration = copy_started.elapsed();
    if cancel.is_cancelled() {
        return Err(LoadError::Cancelled { date });
    }
    let indexes_started = Instant::now();
    staging.build_indexes(pool).await?;
    let index_duration = indexes_started.elapsed();
    if cancel.is_cancelled() {
        return Err(LoadError::Cancelled { date });
    }
    let names = tally.names.as_ref().map(|names| names.counts());
    let counted = Counted {
        facts: tally.facts.as_ref(),
        names,
        unit,
    };
    let day = lock.day().clone();
    let audited =
        audit::before_swap(lock.connection(), &day, options.audits.as_deref(), counted).await?;
    if cancel.is_cancelled() {
        return Err(LoadError::Cancelled { date });
    }
    let load = day_load(rows, &totals, &missing, names, options, &audited)?;
    let swap_started = Instant::now();
    let policy = options.swap_policy();
    let swap = swap::swap_in(lock.connection(), staging, &load, &policy, cancel).await?;
    Ok(Filled {
        rows,
        copy_duration,
        index_duration,
        audited,
        swap_waited: swap_started.elapsed().saturating_sub(swap.after_commit),
        swap,
    })
}

/// `date` of the target's table, and what its audit needs counted: worked out before
/// anything is read, so that an audit naming a column the table lacks fails at once.
fn day_and_facts(
    target: &Target<'_>,
    date: NaiveDate,
    options: &LoadOptions,
) -> Result<(Day, Option<FactsPlan>), LoadError> {
    let day = Day::of(&target.table, date);
    let facts = facts_plan(&day, options)?;
    Ok((day, facts))
}

/// What the audit needs counted of `day`'s rows; an error names a check whose column the
/// table lacks.
fn facts_plan(day: &Day, options: &LoadOptions) -> Result<Option<FactsPlan>, LoadError> {
    let Some(config) = options.audits.as_deref() else {
        return Ok(None);
    };
    audit::facts_plan(day.table(), config)
        .map(Some)
        .map_err(|message| LoadError::DatasetInvalid {
            dataset: day.table().dataset().to_owned(),
            message: format!("its audit: {message}"),
        })
}

/// The staging tables must hold every row the footers promised.
fn check_row_count(date: NaiveDate, rows: u64, totals: &Totals) -> Result<(), LoadError> {
    let expected = totals.rows().ok_or_else(|| {
        LoadError::internal_without_source("the streams ended before every footer was read")
    })?;
    if rows != expected {
        return Err(LoadError::RowCountMismatch {
            date,
            stored: rows,
            expected,
        });
    }
    Ok(())
}

/// What the swap records of the load in `dwh.day_loads`.
fn day_load(
    rows: u64,
    totals: &Totals,
    missing: &MissingMinutes,
    names: Option<NameCounts>,
    options: &LoadOptions,
    audited: &Audited,
) -> Result<DayLoad, LoadError> {
    let too_large = |what| {
        move |e| LoadError::internal(format!("the day's {what} do not fit dwh.day_loads"), e)
    };
    Ok(DayLoad {
        rows: i64::try_from(rows).map_err(too_large("rows"))?,
        files: i32::try_from(totals.files).map_err(too_large("files"))?,
        bytes: i64::try_from(totals.bytes).map_err(too_large("bytes"))?,
        missing_minutes: missing.times().to_vec(),
        names,
        job_id: options.job_id,
        audits: audited.results.clone(),
    })
}
