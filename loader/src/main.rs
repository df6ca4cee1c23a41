//! `loader`: replaces days of `dwh.data_sample` from Parquet files, and manages the schema.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use loader::{
    AuditConfig, DataSource, LoadOptions, Retention, RollbackOptions, StorageSettings, Streams,
    load_day_from,
};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio_util::sync::CancellationToken;

// The binary's own rooms, in a folder of their own beside the library's.
#[path = "cli/report.rs"]
mod report;

use report::{print_report, print_timings, progress_bar, show};

/// Loads the sensor-readings Parquet files into dwh.data_sample, one atomic day at a time.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// PostgreSQL connection string.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replace one day (--date) or each day of a range (--from/--to), one day at a time.
    Load(LoadArgs),
    /// Per loaded day: rows, size on disk, when and by which job it was loaded.
    Partitions,
    /// A day's current and kept versions, with their audits.
    Versions {
        /// The day, YYYY-MM-DD.
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
    },
    /// Swap a kept version of a day back in (the current one is kept in turn).
    Rollback {
        /// The day, YYYY-MM-DD.
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
        /// The kept version to make current (`loader versions --date …` lists them).
        #[arg(long)]
        version: i32,
        #[command(flatten)]
        retention: RetentionArgs,
    },
    /// Apply the schema migrations.
    Migrate,
    /// Drop staging tables left behind by loads that were killed, the leaves swaps retired,
    /// and kept versions beyond retention.
    Gc {
        #[command(flatten)]
        retention: RetentionArgs,
    },
}

/// How many replaced versions of a day are kept, and how long.
#[derive(Debug, Args)]
struct RetentionArgs {
    /// Replaced versions of each day kept for rollback (in schema dwh_history, which
    /// readers of dwh cannot see); 0 drops a day's old rows when it is replaced.
    #[arg(long, env = "KEEP_VERSIONS", default_value_t = Retention::default().keep)]
    keep_versions: u32,
    /// A replaced version is dropped this many hours after it was replaced.
    #[arg(long, env = "KEEP_VERSIONS_HOURS", default_value_t = Retention::default().max_age.as_secs() / 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    keep_versions_hours: u64,
}

impl RetentionArgs {
    fn retention(&self) -> Retention {
        Retention {
            keep: self.keep_versions,
            max_age: Duration::from_secs(self.keep_versions_hours.saturating_mul(3600)),
        }
    }
}

#[derive(Debug, Args)]
struct LoadArgs {
    /// The day to replace, YYYY-MM-DD.
    #[arg(long, env = "LOAD_DATE", value_parser = parse_date, required_unless_present_all = ["from", "to"], conflicts_with_all = ["from", "to"])]
    date: Option<NaiveDate>,
    /// First day of a range to replace, YYYY-MM-DD.
    #[arg(long, env = "LOAD_FROM", value_parser = parse_date, requires = "to")]
    from: Option<NaiveDate>,
    /// Last day of the range, included.
    #[arg(long, env = "LOAD_TO", value_parser = parse_date, requires = "from")]
    to: Option<NaiveDate>,
    /// Where the `YYYY-MM-DD HH:MM:SS.parquet` files are: a directory (a path or
    /// `file:///path`), or a bucket: `s3://bucket/prefix`, `gs://…`, `az://container/…`,
    /// with the platform's standard credential variables (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL`, …).
    #[arg(
        long,
        env = "DATA_DIR",
        visible_alias = "data-url",
        default_value = "data"
    )]
    data_dir: String,
    /// How long a request to a bucket is retried on transient errors (5xx, throttling,
    /// timeouts) before the load fails, in seconds.
    #[arg(long, env = "STORAGE_RETRY_SECS", default_value_t = StorageSettings::default().retry_timeout.as_secs())]
    storage_retry_secs: u64,
    /// Parallel COPY connections; each fills its own part of the day when the files'
    /// footers allow. More than the server's cores only adds contention.
    #[arg(long, env = "LOAD_STREAMS", default_value_t = Streams::default())]
    streams: Streams,
    /// How long the swap may wait for its locks per attempt, in milliseconds.
    #[arg(long, env = "LOAD_LOCK_TIMEOUT_MS", default_value_t = 1000)]
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
    /// Refuse a replace that would leave a day with fewer than this percentage of the rows
    /// it holds (0 turns the guard off).
    #[arg(long, env = "SHRINK_GUARD_PERCENT", default_value_t = LoadOptions::default().shrink_guard_percent,
          value_parser = clap::value_parser!(u8).range(0..=100))]
    shrink_guard: u8,
    /// Replace the day even when that shrinks it below the shrink guard.
    #[arg(long, env = "LOAD_FORCE")]
    force: bool,
    /// The audit file (TOML): checks of the staging tables before the swap. Unset: the
    /// committed defaults for the dataset (loader/audits.toml); `off`: no audit.
    #[arg(long, env = "AUDITS_FILE", value_name = "FILE|off")]
    audits: Option<String>,
    #[command(flatten)]
    retention: RetentionArgs,
    /// Also print where each day's time went: the process's start-up (connecting
    /// included), then each phase of the load.
    #[arg(long)]
    timings: bool,
}

fn parse_date(value: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|e| format!("{e}; expected YYYY-MM-DD, e.g. 2023-01-01"))
}

impl LoadArgs {
    fn days(&self) -> anyhow::Result<Vec<NaiveDate>> {
        match (self.date, self.from, self.to) {
            (Some(date), _, _) => Ok(vec![date]),
            (None, Some(from), Some(to)) if from <= to => {
                Ok(from.iter_days().take_while(|d| *d <= to).collect())
            }
            (None, Some(from), Some(to)) => anyhow::bail!("--from {from} is after --to {to}"),
            _ => anyhow::bail!("give --date, or --from and --to"),
        }
    }

    fn source(&self) -> anyhow::Result<DataSource> {
        let settings = StorageSettings {
            retry_timeout: Duration::from_secs(self.storage_retry_secs),
            ..StorageSettings::default()
        };
        Ok(DataSource::parse(&self.data_dir, settings)?)
    }

    fn options(&self) -> anyhow::Result<LoadOptions> {
        let audits = AuditConfig::from_setting(self.audits.as_deref())?;
        Ok(LoadOptions {
            streams: self.streams,
            lock_timeout: Duration::from_millis(self.lock_timeout_ms),
            analyze: self.analyze,
            allow_partial: self.allow_partial,
            shrink_guard_percent: self.shrink_guard,
            force: self.force,
            audits: audits.map(Arc::new),
            retention: self.retention.retention(),
            ..LoadOptions::default()
        })
    }
}

fn main() -> ExitCode {
    let started = Instant::now();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colours for people at a terminal; none in a file or a pipe.
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    match runtime.block_on(run(cli, started)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, started: Instant) -> anyhow::Result<()> {
    let url = cli
        .database_url
        .context("no database given: set DATABASE_URL or pass --database-url")?;
    // A load holds one pooled connection per COPY stream (its day lock has a connection of
    // its own), so the pool must not be smaller than the streams.
    let streams = match &cli.command {
        Command::Load(args) => u32::try_from(args.streams.get()).unwrap_or(u32::MAX),
        _ => 1,
    };
    let pool = PgPoolOptions::new()
        .max_connections(8.max(streams))
        .acquire_timeout(Duration::from_secs(10))
        .connect(&url)
        .await
        .context("cannot connect to PostgreSQL")?;
    match cli.command {
        Command::Migrate => {
            loader::MIGRATOR
                .run(&pool)
                .await
                .context("migrations failed")?;
            println!("migrations applied");
        }
        Command::Gc { retention } => {
            let dropped = loader::collect_garbage(&pool).await?;
            println!(
                "dropped {} table(s) (staging tables of killed loads, retired leaves){}",
                dropped.len(),
                list(&dropped)
            );
            let pruned = loader::prune_versions(&pool, retention.retention()).await?;
            let pruned: Vec<String> = pruned.iter().map(|(d, v)| format!("{d} v{v}")).collect();
            println!("dropped {} kept version(s){}", pruned.len(), list(&pruned));
        }
        Command::Versions { date } => print_versions(&pool, date).await?,
        Command::Rollback {
            date,
            version,
            retention,
        } => {
            let options = RollbackOptions {
                retention: retention.retention(),
                ..RollbackOptions::default()
            };
            let report =
                loader::rollback_day(&pool, date, version, &options, &CancellationToken::new())
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
        }
        Command::Partitions => print_partitions(&pool).await?,
        Command::Load(args) => load_days(&pool, &args, started).await?,
    }
    Ok(())
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(": {}", names.join(", "))
    }
}

async fn print_partitions(pool: &PgPool) -> anyhow::Result<()> {
    let days = loader::list_partitions(pool).await?;
    println!(
        "{:<10}  {:>10}  {:>10}  {:<25}  job",
        "day", "rows", "size MB", "loaded at"
    );
    for day in &days {
        println!(
            "{:<10}  {:>10}  {:>10.1}  {:<25}  {}",
            day.day,
            day.rows,
            day.size_bytes as f64 / 1e6,
            day.loaded_at.format("%Y-%m-%d %H:%M:%S UTC"),
            day.job_id
                .map_or_else(|| "-".to_owned(), |id| id.to_string())
        );
    }
    println!("{} day(s)", days.len());
    Ok(())
}

async fn print_versions(pool: &PgPool, date: NaiveDate) -> anyhow::Result<()> {
    let versions = loader::list_versions(pool, date).await?;
    println!(
        "{:>7}  {:<8}  {:>10}  {:>10}  {:<25}  audit",
        "version", "", "rows", "size MB", "loaded at"
    );
    for v in &versions {
        let findings: Vec<String> = v
            .audits
            .iter()
            .filter(|a| !a.passed)
            .map(ToString::to_string)
            .collect();
        println!(
            "{:>7}  {:<8}  {:>10}  {:>10.1}  {:<25}  {}",
            v.version,
            if v.current { "current" } else { "kept" },
            v.rows,
            v.disk_bytes as f64 / 1e6,
            v.loaded_at.format("%Y-%m-%d %H:%M:%S UTC"),
            if v.audits.is_empty() {
                "-".to_owned()
            } else if findings.is_empty() {
                "passed".to_owned()
            } else {
                findings.join("; ")
            }
        );
    }
    println!("{} version(s)", versions.len());
    Ok(())
}

/// Loads each day of `args`; `started`: when the process began (for `--timings`).
async fn load_days(pool: &PgPool, args: &LoadArgs, started: Instant) -> anyhow::Result<()> {
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("cancelling: the day being loaded keeps its old rows");
            on_ctrl_c.cancel();
        }
    });
    let options = args.options()?;
    let source = args.source()?;
    let days = args.days()?;
    let in_range = days.len() > 1;
    let mut skipped = Vec::new();
    let mut started = started;
    for day in days {
        let bar = progress_bar();
        let load_began = Instant::now();
        let report = load_day_from(pool, &source, day, &options, &|p| show(&bar, p), &cancel).await;
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
            Err(error @ loader::LoadError::DayIncomplete { .. }) if in_range => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn load_args(args: &[&str]) -> Result<LoadArgs, clap::Error> {
        let mut argv = vec!["loader", "load"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Command::Load(args) => args,
            other => panic!("parsed {other:?}"),
        })
    }

    #[test]
    fn a_range_loads_each_day_in_order() {
        let args = load_args(&["--from", "2023-01-30", "--to", "2023-02-01"]).expect("parses");
        let days = args.days().expect("valid range");
        let first = NaiveDate::from_ymd_opt(2023, 1, 30).expect("date");
        assert_eq!(
            days,
            vec![
                first,
                first + TimeDelta::days(1),
                first + TimeDelta::days(2)
            ]
        );
    }

    #[test]
    fn a_reversed_range_is_refused() {
        let args = load_args(&["--from", "2023-01-02", "--to", "2023-01-01"]).expect("parses");
        assert_eq!(
            args.days().expect_err("reversed").to_string(),
            "--from 2023-01-02 is after --to 2023-01-01"
        );
    }

    #[test]
    fn date_and_range_conflict_and_one_is_required() {
        assert!(
            load_args(&[
                "--date",
                "2023-01-01",
                "--from",
                "2023-01-01",
                "--to",
                "2023-01-02"
            ])
            .is_err()
        );
        assert!(load_args(&[]).is_err());
        assert!(load_args(&["--date", "2023-02-30"]).is_err());
    }
}
