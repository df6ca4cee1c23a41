//! `loader load`: its flags, and the days it replaces one after the other.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::NaiveDate;
use clap::Args;
use loader::{
    Dataset, DatasetChoice, Datasets, LoadOptions, LoadingSettings, SourceSettings,
    load_dataset_day,
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::parse_date;
use crate::report::{print_report, print_timings, progress_bar, show};

#[derive(Debug, Args)]
pub(crate) struct LoadArgs {
    /// The day to replace, YYYY-MM-DD.
    #[arg(long, env = "LOAD_DATE", value_parser = parse_date, required_unless_present_all = ["from", "to"], conflicts_with_all = ["from", "to"])]
    pub(crate) date: Option<NaiveDate>,
    /// First day of a range to replace, YYYY-MM-DD.
    #[arg(long, env = "LOAD_FROM", value_parser = parse_date, requires = "to")]
    from: Option<NaiveDate>,
    /// Last day of the range, included.
    #[arg(long, env = "LOAD_TO", value_parser = parse_date, requires = "from")]
    to: Option<NaiveDate>,
    #[command(flatten)]
    pub(crate) dataset: DatasetChoice,
    #[command(flatten)]
    pub(crate) source: SourceSettings,
    #[command(flatten)]
    pub(crate) loading: LoadingSettings,
    /// How long the swap may wait for its locks per attempt, in milliseconds.
    #[arg(long, env = "LOAD_LOCK_TIMEOUT_MS", default_value_t = LoadOptions::default().lock_timeout.as_millis() as u64)]
    lock_timeout_ms: u64,
    /// ANALYZE the new day's leaves before they become visible (each stream its own, in
    /// parallel); `false` leaves it to autovacuum.
    #[arg(long, env = "LOAD_ANALYZE", default_value_t = LoadOptions::default().analyze,
          action = clap::ArgAction::Set, value_name = "true|false")]
    analyze: bool,
    /// Load a day that lacks minute files; it is recorded as partial, with the minutes it
    /// lacks. Without it, an incomplete day is refused.
    #[arg(long, env = "LOAD_ALLOW_PARTIAL")]
    allow_partial: bool,
    /// Replace the day even when that shrinks it below the shrink guard.
    #[arg(long, env = "LOAD_FORCE")]
    force: bool,
    /// Also print where each day's time went: the process's start-up (connecting
    /// included), then each phase of the load.
    #[arg(long)]
    timings: bool,
}

impl LoadArgs {
    pub(crate) fn days(&self) -> anyhow::Result<Vec<NaiveDate>> {
        match (self.date, self.from, self.to) {
            (Some(date), _, _) => Ok(vec![date]),
            (None, Some(from), Some(to)) if from <= to => {
                Ok(from.iter_days().take_while(|d| *d <= to).collect())
            }
            (None, Some(from), Some(to)) => anyhow::bail!("--from {from} is after --to {to}"),
            _ => anyhow::bail!("give --date, or --from and --to"),
        }
    }

    pub(crate) fn options(&self) -> anyhow::Result<LoadOptions> {
        Ok(LoadOptions {
            streams: self.loading.streams,
            lock_timeout: Duration::from_millis(self.lock_timeout_ms),
            analyze: self.analyze,
            allow_partial: self.allow_partial,
            shrink_guard_percent: self.loading.shrink_guard_percent,
            force: self.force,
            audits: self.loading.audits()?,
            retention: self.loading.retention.retention(),
            ..LoadOptions::default()
        })
    }

    /// [`options`](Self::options) with what `dataset` sets for itself.
    pub(crate) fn options_for(&self, dataset: &Dataset) -> anyhow::Result<LoadOptions> {
        Ok(loader::dataset_options(dataset, self.options()?)?)
    }
}

/// Loads each day of `args`; `started`: when the process began (for `--timings`).
pub(crate) async fn load_days(
    pool: &PgPool,
    args: &LoadArgs,
    datasets: &Datasets,
    started: Instant,
) -> anyhow::Result<()> {
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("cancelling: the day being loaded keeps its old rows");
            on_ctrl_c.cancel();
        }
    });
    let dataset = args.dataset.pick(datasets)?;
    let options = args.options_for(dataset)?;
    let source = if dataset.is_sample() {
        args.source.source()?
    } else {
        args.source.open(&dataset.source)?
    };
    let days = args.days()?;
    let in_range = days.len() > 1;
    let mut skipped = Vec::new();
    let mut started = started;
    for day in days {
        let bar = progress_bar();
        let load_began = Instant::now();
        let on_progress = |p| show(&bar, p);
        let report =
            load_dataset_day(pool, dataset, &source, day, &options, &on_progress, &cancel).await;
        bar.finish_and_clear();
        match report {
            Ok(report) => {
                print_report(&report);
                if args.timings {
                    print_timings(&report, started, load_began);
                }
            }
            // In a range, an incomplete day (the month's last holds one minute) is said
            // and skipped, not a reason to stop the days after it.
            Err(
                error @ (loader::LoadError::DayIncomplete { .. }
                | loader::LoadError::DayUnfinished { .. }),
            ) if in_range => {
                eprintln!("skipped: {error}");
                skipped.push(day);
            }
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("loading {day} failed; the day is unchanged"));
            }
        }
        // The next day's start-up is nothing but the step to it.
        started = Instant::now();
    }
    if !skipped.is_empty() {
        let days: Vec<String> = skipped.iter().map(ToString::to_string).collect();
        println!(
            "{} incomplete day(s) skipped, unchanged: {} (--allow-partial loads them)",
            skipped.len(),
            days.join(", ")
        );
    }
    Ok(())
}
