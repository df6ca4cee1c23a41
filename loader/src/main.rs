//! `loader`: replaces days of `dwh.data_sample` from Parquet files, and manages the schema.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use loader::{
    DatabaseSettings, DatasetChoice, Datasets, DatasetsSettings, RetentionSettings, SourceSettings,
    Table,
};
use secrecy::ExposeSecret;
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

// The binary's own rooms, in a folder of their own beside the library's.
#[path = "cli/datasets.rs"]
mod datasets;
#[path = "cli/listings.rs"]
mod listings;
#[path = "cli/load.rs"]
mod load;
#[path = "cli/maintenance.rs"]
mod maintenance;
#[path = "cli/report.rs"]
mod report;

use datasets::{print_datasets, print_schema};
use listings::{print_partitions, print_versions};
use load::{LoadArgs, load_days};
use maintenance::{collect_garbage, roll_back};

/// Replaces days of day-partitioned tables from Parquet files, one atomic day at a time:
/// the built-in sample's dwh.data_sample, and the datasets of a datasets file.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    database: DatabaseSettings,
    #[command(flatten)]
    datasets: DatasetsSettings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replace one day (--date) or each day of a range (--from/--to), one day at a time.
    Load(LoadArgs),
    /// The datasets: the built-in sample and those of the datasets file.
    Datasets,
    /// A dataset's columns (declared, the table's, or found in a day's first file) and the
    /// DDL that creates its table, without running it.
    Schema {
        #[command(flatten)]
        dataset: DatasetChoice,
        /// Read the columns from this day's first file (YYYY-MM-DD).
        #[arg(long, value_parser = parse_date)]
        date: Option<NaiveDate>,
        #[command(flatten)]
        source: SourceSettings,
    },
    /// Per loaded day: rows, size on disk, when and by which job it was loaded.
    Partitions {
        #[command(flatten)]
        dataset: DatasetChoice,
    },
    /// A day's current and kept versions, with their audits.
    Versions {
        #[command(flatten)]
        dataset: DatasetChoice,
        /// The day, YYYY-MM-DD.
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
    },
    /// Swap a kept version of a day back in (the current one is kept in turn).
    Rollback {
        #[command(flatten)]
        dataset: DatasetChoice,
        /// The day, YYYY-MM-DD.
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
        /// The kept version to make current (`loader versions --date …` lists them).
        #[arg(long)]
        version: i32,
        #[command(flatten)]
        retention: RetentionSettings,
    },
    /// Apply the schema migrations.
    Migrate,
    /// Drop staging tables left behind by loads that were killed, the leaves swaps retired,
    /// and kept versions beyond retention.
    Gc {
        #[command(flatten)]
        dataset: DatasetChoice,
        #[command(flatten)]
        retention: RetentionSettings,
    },
}

fn parse_date(value: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|e| format!("{e}; expected YYYY-MM-DD, e.g. 2023-01-01"))
}

fn main() -> ExitCode {
    let started = Instant::now();
    dwh_common::logging::init(dwh_common::logging::LogTo::Stderr, "warn", false);
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
    let sample_source = match &cli.command {
        Command::Load(args) => args.source.location().to_owned(),
        Command::Schema { source, .. } => source.location().to_owned(),
        _ => "data".to_owned(),
    };
    let datasets = cli.datasets.datasets(&sample_source)?;
    if let Command::Datasets = cli.command {
        print_datasets(&datasets);
        return Ok(());
    }
    let url = cli.database.url().map_err(anyhow::Error::msg)?;
    // A load holds one pooled connection per COPY stream (its day lock has a connection of
    // its own), so the pool must not be smaller than the streams.
    let streams = match &cli.command {
        Command::Load(args) => u32::try_from(args.loading.streams.get()).unwrap_or(u32::MAX),
        _ => 1,
    };
    let options: PgConnectOptions = url
        .expose_secret()
        .parse()
        .context("DATABASE_URL is not a valid PostgreSQL URL")?;
    let pool = PgPoolOptions::new()
        .max_connections(8.max(streams))
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(quiet_about_long_statements(options))
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
        Command::Gc { dataset, retention } => {
            let table = table_of(&pool, &datasets, &dataset).await?;
            collect_garbage(&pool, &table, &retention).await?;
        }
        Command::Versions { dataset, date } => {
            let table = table_of(&pool, &datasets, &dataset).await?;
            print_versions(&pool, &table, date).await?;
        }
        Command::Rollback {
            dataset,
            date,
            version,
            retention,
        } => {
            let table = table_of(&pool, &datasets, &dataset).await?;
            roll_back(&pool, &table, date, version, &retention).await?;
        }
        Command::Partitions { dataset } => {
            let table = table_of(&pool, &datasets, &dataset).await?;
            print_partitions(&pool, &table).await?;
        }
        Command::Schema {
            dataset,
            date,
            source,
        } => print_schema(&pool, dataset.pick(&datasets)?, &source, date).await?,
        Command::Load(args) => load_days(&pool, &args, &datasets, started).await?,
        Command::Datasets => unreachable!("answered before connecting"),
    }
    Ok(())
}

/// The chosen dataset's table, as the database has it.
async fn table_of(
    pool: &sqlx::PgPool,
    datasets: &Datasets,
    choice: &DatasetChoice,
) -> anyhow::Result<std::sync::Arc<Table>> {
    let dataset = choice.pick(datasets)?;
    let mut conn = pool.acquire().await?;
    loader::find_table(&mut conn, dataset)
        .await?
        .with_context(|| {
            format!(
                "dataset {}: its table {} does not exist yet (no day of it was loaded)",
                dataset.name,
                dataset.table_display()
            )
        })
}

/// A load's statements are long by nature (a COPY, an index built on a day's rows): a
/// warning for each statement over a second would only be noise, so they are logged at
/// debug level.
fn quiet_about_long_statements(options: PgConnectOptions) -> PgConnectOptions {
    options.log_slow_statements(tracing::log::LevelFilter::Debug, Duration::from_secs(1))
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
