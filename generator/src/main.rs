//! `generator`: writes the reference sensor-readings dataset as Parquet files.

mod progress;

use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use chrono::{NaiveDate, NaiveDateTime};
use clap::Parser;
use generator::minute::{REFERENCE_LAST_INDEX, first_minute, minute_at};
use generator::{GenerateOptions, LiveOptions, MinuteRange, Output, generate, generate_live};

/// Writes the January 2023 sensor-readings dataset: one Parquet file per minute,
/// value for value identical to the reference files.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Where to write the files: a directory (created if missing; a path or
    /// `file:///path`), or a bucket: `s3://bucket/prefix`, `gs://…`, `az://container/…`,
    /// with the platform's standard credential variables (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL`, …). --live writes to a directory only.
    #[arg(long, env = "DATA_DIR", default_value = "data")]
    out: String,
    /// First minute, "YYYY-MM-DD HH:MM" (default 2023-01-01 00:00).
    #[arg(long, env = "GENERATOR_FROM", value_parser = parse_minute, conflicts_with = "date")]
    from: Option<NaiveDateTime>,
    /// Last minute, included, "YYYY-MM-DD HH:MM" (default 2023-01-31 00:00).
    #[arg(long, env = "GENERATOR_TO", value_parser = parse_minute, conflicts_with = "date")]
    to: Option<NaiveDateTime>,
    /// One whole day, YYYY-MM-DD (its 1,440 minutes).
    #[arg(long, env = "GENERATOR_DATE", value_parser = parse_date)]
    date: Option<NaiveDate>,
    /// Seed of the random stream; 0 reproduces the reference dataset.
    #[arg(long, env = "GENERATOR_SEED", default_value_t = 0)]
    seed: u64,
    /// Encoding threads (default: all cores).
    #[arg(long, env = "GENERATOR_JOBS")]
    jobs: Option<NonZeroUsize>,
    /// Rewrite files that already exist (otherwise they are kept and counted as skipped).
    #[arg(long, env = "GENERATOR_FORCE")]
    force: bool,
    /// Be a live source: write each minute's file when its minute is over, one at a time,
    /// at --speed times real time (the first a minute of data after the start).
    #[arg(long, env = "GENERATOR_LIVE")]
    live: bool,
    /// With --live: minutes of data per minute of real time (60: one file a second).
    #[arg(long, env = "GENERATOR_SPEED", default_value_t = 1.0, requires = "live", value_parser = parse_speed)]
    speed: f64,
}

fn parse_speed(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(speed) if speed.is_finite() && speed > 0.0 => Ok(speed),
        _ => Err(format!(
            "{value:?} is not a speed; expected a positive number, e.g. 60 for one file a second"
        )),
    }
}

fn parse_minute(value: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%d %H:%M")
        .map_err(|e| format!("{e}; expected \"YYYY-MM-DD HH:MM\", e.g. \"2023-01-01 00:00\""))
}

fn parse_date(value: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|e| format!("{e}; expected YYYY-MM-DD, e.g. 2023-01-01"))
}

impl Cli {
    fn range(&self) -> anyhow::Result<MinuteRange> {
        let range = match self.date {
            Some(date) => MinuteRange::day(date)?,
            None => MinuteRange::between(
                self.from.unwrap_or_else(first_minute),
                self.to.unwrap_or_else(|| minute_at(REFERENCE_LAST_INDEX)),
            )?,
        };
        Ok(range)
    }

    fn jobs(&self) -> usize {
        self.jobs
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get)
    }
}

fn main() -> ExitCode {
    dwh_common::logging::init(dwh_common::logging::LogTo::Stderr, "info", false);
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let out = Output::parse(&cli.out)?;
    let options = GenerateOptions {
        range: cli.range()?,
        out,
        seed: cli.seed,
        jobs: cli.jobs(),
        force: cli.force,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let handler_stop = Arc::clone(&stop);
    ctrlc::set_handler(move || handler_stop.store(true, Ordering::Relaxed))
        .context("cannot install the Ctrl-C handler")?;

    tracing::info!(
        range = %options.range, files = options.range.len(), out = %options.out,
        jobs = options.jobs, "generating"
    );
    let reporter = progress::Reporter::new(u64::from(options.range.len()));
    let summary = if cli.live {
        tracing::info!(
            speed = cli.speed,
            "live: one file as each minute of data ends"
        );
        let Output::Dir(out_dir) = options.out else {
            anyhow::bail!("--live writes to a directory, not to a bucket");
        };
        let live = LiveOptions {
            out_dir,
            range: options.range,
            seed: options.seed,
            speed: cli.speed,
            force: options.force,
        };
        generate_live(&live, &|outcome| reporter.file_done(outcome), &stop)?
    } else {
        generate(&options, &|outcome| reporter.file_done(outcome), &stop)?
    };
    reporter.finish();
    let seconds = summary.elapsed.as_secs_f64();
    println!(
        "{} files written, {} skipped, {} rows, {:.1} MB in {:.2} s ({:.0} files/s, {:.0} MB/s){}",
        summary.files_written,
        summary.files_skipped,
        summary.rows,
        summary.bytes as f64 / 1e6,
        seconds,
        summary.files_written as f64 / seconds,
        summary.bytes as f64 / 1e6 / seconds,
        if summary.interrupted {
            "; interrupted: run again to resume"
        } else {
            ""
        }
    );
    Ok(if summary.interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_selects_its_whole_day() {
        let cli = Cli::parse_from(["generator", "--date", "2023-01-02"]);
        let range = cli.range().expect("valid day");
        assert_eq!((range.first(), range.last()), (1440, 2879));
    }

    #[test]
    fn date_and_from_conflict() {
        let parsed = Cli::try_parse_from([
            "generator",
            "--date",
            "2023-01-02",
            "--from",
            "2023-01-01 00:00",
        ]);
        assert!(parsed.is_err());
    }

    #[test]
    fn from_after_to_is_refused() {
        let cli = Cli::parse_from([
            "generator",
            "--from",
            "2023-01-02 00:00",
            "--to",
            "2023-01-01 00:00",
        ]);
        let error = cli.range().expect_err("reversed").to_string();
        assert_eq!(
            error,
            "--from 2023-01-02 00:00:00 is after --to 2023-01-01 00:00:00"
        );
    }

    #[test]
    fn unparseable_minutes_are_refused() {
        assert!(Cli::try_parse_from(["generator", "--from", "2023-01-01"]).is_err());
        assert!(parse_date("2023-02-30").is_err());
    }

    #[test]
    fn speed_needs_live_and_must_be_positive() {
        assert!(Cli::try_parse_from(["generator", "--speed", "60"]).is_err());
        assert!(Cli::try_parse_from(["generator", "--live", "--speed", "0"]).is_err());
        assert!(Cli::try_parse_from(["generator", "--live", "--speed", "-1"]).is_err());
        let cli = Cli::parse_from(["generator", "--live", "--speed", "600"]);
        assert!(cli.live && cli.speed == 600.0);
    }

    #[test]
    fn default_range_is_the_reference_month() {
        let cli = Cli::parse_from(["generator"]);
        assert_eq!(
            cli.range().expect("default"),
            MinuteRange::reference_month()
        );
    }
}
