//! Settings from flags and environment variables (every flag has one), checked at start.
//!
//! In groups: the database, the source of the files and how loads run are the loader's
//! own groups (`loader::DatabaseSettings`, `SourceSettings`, `LoadingSettings`), shared
//! with `loader`'s command line; HTTP, workers, the pipeline and lineage are the service's.

use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use loader::{DatabaseSettings, DatasetsSettings, LoadingSettings, SourceSettings};
use secrecy::{ExposeSecret, SecretString};

pub use http::HttpSettings;
pub use lineage::LineageSettings;
pub use pipeline::{PipelineSettings, Switch};
pub use workers::{Role, WorkerSettings};

mod http;
mod lineage;
mod pipeline;
mod workers;

/// Serves the dwh-loader job API and runs its load workers.
#[derive(Clone, Debug, Parser)]
#[command(name = "api", version, about)]
pub struct Settings {
    /// Without a command: serve the API and run the workers, until stopped.
    #[command(subcommand)]
    pub command: Option<Command>,

    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub database: DatabaseSettings,

    #[command(flatten)]
    pub source: SourceSettings,

    #[command(flatten)]
    pub loading: LoadingSettings,

    #[command(flatten)]
    pub datasets: DatasetsSettings,

    #[command(flatten)]
    pub http: HttpSettings,

    #[command(flatten)]
    pub workers: WorkerSettings,

    #[command(flatten)]
    pub pipeline: PipelineSettings,

    #[command(flatten)]
    pub lineage: LineageSettings,
}

/// A one-off task instead of the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Claim one queued job, run it, and exit (a worker started for the work).
    ///
    /// Runs the job as a long-lived worker would (heartbeat, fencing, retries), without
    /// HTTP; for a Kubernetes or Cloud Run job, or a cron. Exit code: 0 the job
    /// succeeded, 3 no job was queued, 4 it failed, 5 it was cancelled, 6 it did not
    /// finish here (requeued to be retried, handed back at SIGTERM, or taken over); 1 the
    /// worker could not start.
    RunOnce {
        /// Run jobs until none is queued; exit 0 if all succeeded (or there was none),
        /// else the code of the worst.
        #[arg(long)]
        until_empty: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

impl Settings {
    /// Workers this process runs, after the role is taken into account.
    pub fn worker_count(&self) -> usize {
        self.workers.worker_count()
    }

    /// `DATABASE_URL`, which the service cannot start without.
    pub fn database_url(&self) -> Result<&SecretString, String> {
        self.database.url()
    }

    /// The watcher runs where jobs run: in instances with workers, unless `WATCH=off`.
    pub fn watches(&self) -> bool {
        self.pipeline.watch.is_on() && self.worker_count() > 0
    }

    pub fn serves_jobs_api(&self) -> bool {
        self.workers.role != Role::Worker
    }

    /// The token, if one is configured and not blank.
    pub fn api_token(&self) -> Option<&SecretString> {
        self.http.api_token()
    }

    /// Connections this process may hold at once: each worker's COPY streams and its
    /// heartbeat, plus two for HTTP requests and the reaper, one for the watcher and one
    /// for the event relay's `LISTEN`.
    pub fn connections_needed(&self) -> u64 {
        self.worker_count() as u64 * (self.loading.streams.get() as u64 + 1)
            + 2
            + u64::from(self.watches())
            + u64::from(self.serves_jobs_api())
    }

    /// Refuses settings under which loads would wait for connections the pool never has
    /// (and fail after the acquire timeout, over and over).
    pub fn check(&self) -> Result<(), String> {
        self.check_worker()?;
        if self.serves_jobs_api()
            && !self.http.bind.ip().is_loopback()
            && self.api_token().is_none()
            && !self.http.allow_anonymous_writes
        {
            return Err(format!(
                "BIND={} listens beyond this machine and no API_TOKEN is set: anyone who can \
                 reach it could replace or cancel loads. Set API_TOKEN, or \
                 ALLOW_ANONYMOUS_WRITES=true if an open API is intended",
                self.http.bind
            ));
        }
        if let Some(weak) = self
            .api_token()
            .and_then(|t| http::weak_token(t.expose_secret()))
        {
            return Err(weak);
        }
        if self.pipeline.live.is_on() && self.source.reads_a_bucket() {
            return Err(
                "LIVE=on needs a directory to watch; DATA_DIR names a bucket (see WATCH)".into(),
            );
        }
        if self.pipeline.live.is_on() && !self.watches() {
            return Err(
                "LIVE=on appends the minute files the watcher sees, but this instance does not \
                 watch (WATCH=off, or no workers): turn WATCH on and give it workers, or set \
                 LIVE=off"
                    .into(),
            );
        }
        Ok(())
    }

    /// What a process that runs jobs needs, with or without HTTP (`run-once` too).
    pub fn check_worker(&self) -> Result<(), String> {
        self.database_url()?;
        self.workers.check_heartbeat()?;
        self.loading.audits().map_err(|error| error.to_string())?;
        let needed = self.connections_needed();
        if needed > u64::from(self.workers.db_max_connections) {
            return Err(format!(
                "DB_MAX_CONNECTIONS={} is too few for WORKERS={} with LOAD_STREAMS={}: they need \
                 up to {needed} connections (WORKERS × (LOAD_STREAMS + 1) + 2, one more for \
                 the watcher and one for the event relay); raise DB_MAX_CONNECTIONS or lower \
                 WORKERS or LOAD_STREAMS",
                self.workers.db_max_connections,
                self.worker_count(),
                self.loading.streams
            ));
        }
        Ok(())
    }

    /// The command line's defaults with the given database and data directory, listening
    /// on a free port of 127.0.0.1; for tests and embedding. Parsed from the flags' own
    /// defaults with every environment variable ignored, so that the caller's environment
    /// cannot leak in and no default is written twice.
    pub fn new(database_url: &str, data_dir: PathBuf) -> Self {
        let command = Self::command().mut_args(|arg| arg.env(None::<&str>));
        let data_dir = data_dir.to_string_lossy().into_owned();
        let argv = [
            "api",
            "--database-url",
            database_url,
            "--data-dir",
            &data_dir,
        ];
        let matches = command
            .try_get_matches_from(argv)
            .expect("the defaults parse");
        let mut settings = Self::from_arg_matches(&matches).expect("the defaults parse");
        settings.http.bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        settings
    }
}

#[cfg(test)]
mod tests;
