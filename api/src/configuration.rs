//! Settings from flags and environment variables (every flag has one), checked at start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use loader::{
    AuditConfig, AuditConfigError, DataSource, LoadError, Retention, StorageSettings, Streams,
};
use secrecy::{ExposeSecret, SecretString};

pub use http::HttpSettings;

mod http;

/// Serves the dwh-loader job API and runs its load workers.
#[derive(Clone, Debug, Parser)]
#[command(name = "api", version, about)]
pub struct Settings {
    /// Without a command: serve the API and run the workers, until stopped.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// PostgreSQL connection URL. It may hold a password: it is never printed.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: SecretString,

    /// Where the generator's Parquet files are (`YYYY-MM-DD HH:MM:SS.parquet`): a
    /// directory (a path or `file:///path`), or a bucket: `s3://bucket/prefix`, `gs://…`,
    /// `az://container/prefix`, with the platform's standard credential variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL`, …).
    #[arg(long, env = "DATA_DIR", default_value = "data")]
    pub data_dir: String,

    /// Another name for DATA_DIR, which reads better for a bucket; give one or the other.
    #[arg(long, env = "DATA_URL", conflicts_with = "data_dir")]
    pub data_url: Option<String>,

    /// How long a request to a bucket is retried on transient errors (5xx, throttling,
    /// timeouts) before the load fails, in seconds.
    #[arg(long, env = "STORAGE_RETRY_SECS", default_value_t = 60)]
    pub storage_retry_secs: u64,

    /// Address to listen on. Use 0.0.0.0:8080 in a container.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// When set, POST endpoints require `Authorization: Bearer <token>`.
    #[arg(long, env = "API_TOKEN", hide_env_values = true)]
    pub api_token: Option<SecretString>,

    /// Serve the POST endpoints without a token on an address beyond loopback. Without it
    /// the API refuses to start that way: anyone who reaches it could replace days.
    #[arg(long, env = "ALLOW_ANONYMOUS_WRITES")]
    pub allow_anonymous_writes: bool,

    /// Load workers in this process. 0 serves the API only (another instance loads).
    #[arg(long, env = "WORKERS", default_value_t = 1)]
    pub workers: usize,

    /// Serve HTTP (`all`, `api`) and/or run workers (`all`, `worker`). A `worker`
    /// instance still answers /healthz, /readyz and /metrics.
    #[arg(long, env = "ROLE", value_enum, default_value_t = Role::All)]
    pub role: Role,

    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Runs of a job before it is failed (crashes and transient errors are retried).
    #[arg(long, env = "MAX_ATTEMPTS", default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=100))]
    pub max_attempts: i32,

    /// How often a running job reports progress and checks for a cancel request.
    #[arg(long, env = "HEARTBEAT_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..))]
    pub heartbeat_ms: u64,

    /// A running job without a heartbeat for this long is taken to be dead and requeued.
    #[arg(long, env = "STALE_AFTER_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub stale_after_secs: u64,

    /// How often an idle worker looks for queued jobs created by other instances.
    #[arg(long, env = "POLL_MS", default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..))]
    pub poll_ms: u64,

    /// Parallel COPY streams per load, 1 to 16.
    #[arg(long, env = "LOAD_STREAMS", default_value_t = Streams::default())]
    pub load_streams: Streams,

    /// A replace may not leave a day with fewer than this percentage of the rows it holds,
    /// unless its job says `force=true` (0 turns the guard off).
    #[arg(long, env = "SHRINK_GUARD_PERCENT", default_value_t = 90, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub shrink_guard_percent: u8,

    /// Replaced versions of each day kept for rollback (their rows stay in schema
    /// `dwh_history`, which readers of `dwh` cannot see); 0 drops a day's old rows when it
    /// is replaced, as before versions were kept.
    #[arg(long, env = "KEEP_VERSIONS", default_value_t = 2)]
    pub keep_versions: u32,

    /// A replaced version is dropped this many hours after it was replaced, however few are
    /// kept (checked after each load and hourly).
    #[arg(long, env = "KEEP_VERSIONS_HOURS", default_value_t = 72, value_parser = clap::value_parser!(u64).range(1..))]
    pub keep_versions_hours: u64,

    /// The audit file (TOML): checks of a load's staging tables before its swap. Unset: the
    /// defaults for the dataset, as committed in `loader/audits.toml`; `off`: no audit.
    #[arg(long, env = "AUDITS_FILE")]
    pub audits_file: Option<String>,

    /// Connections for HTTP requests: a pool of their own, so that no amount of HTTP
    /// traffic can take the connections a running load needs.
    #[arg(long, env = "HTTP_DB_CONNECTIONS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub http_db_connections: u32,

    /// Every statement an HTTP request runs is cancelled after this long (the request then
    /// answers 503), so a blocked query cannot hold a connection for long. Above the
    /// slowest statement the API runs: `GET /partitions/{date}` of a day loaded before its
    /// distinct counts were kept scans it (seconds for 2.7 M rows, more under load).
    #[arg(long, env = "HTTP_STATEMENT_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub http_statement_timeout_ms: u64,

    /// Finished jobs are forgotten this many days after they ended (with their attempts),
    /// except the job that loaded a day's current rows; 0 keeps every job.
    #[arg(long, env = "JOB_RETENTION_DAYS", default_value_t = 30)]
    pub job_retention_days: u32,

    /// Watch DATA_DIR and keep the file ledger (instances with workers only): complete
    /// days then load by themselves, and a loaded day whose files change is reloaded.
    #[arg(long, env = "WATCH", value_enum, default_value_t = Switch::On)]
    pub watch: Switch,

    /// A complete day is loaded by itself once none of its files changed for this long.
    #[arg(long, env = "SETTLE_SECS", default_value_t = 10)]
    pub settle_secs: u64,

    /// How often the watcher lists the whole directory, as a safety net for missed
    /// notifications (network file systems send none).
    #[arg(long, env = "RESCAN_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub rescan_secs: u64,

    /// Append each minute file of a day neither complete nor loaded as soon as it lands
    /// (needs WATCH), so that the day in progress can be queried within seconds.
    #[arg(long, env = "LIVE", value_enum, default_value_t = Switch::Off)]
    pub live: Switch,

    #[command(flatten)]
    pub http: HttpSettings,

    /// Size of the database connection pool of the workers (and start-up work). Each running load also holds one connection
    /// outside the pool, for its day's lock (see `loader`'s `DayLock`).
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(2..))]
    pub db_max_connections: u32,
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

/// What this process does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// HTTP API and workers.
    All,
    /// HTTP API only: jobs are queued for worker instances.
    Api,
    /// Workers only (plus health and metrics endpoints).
    Worker,
}

/// A feature turned `on` or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

impl Switch {
    pub fn is_on(self) -> bool {
        self == Self::On
    }
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
        match self.role {
            Role::Api => 0,
            Role::All | Role::Worker => self.workers,
        }
    }

    /// `DATA_DIR` (or `DATA_URL`) names a bucket, not a directory.
    fn reads_a_bucket(&self) -> bool {
        let text = self.data_url.as_deref().unwrap_or(&self.data_dir);
        text.contains("://") && !text.starts_with("file://")
    }

    /// The directory or bucket `DATA_DIR` names (a bucket's client is built here, from the
    /// environment's credentials).
    pub fn source(&self) -> Result<DataSource, LoadError> {
        let storage = StorageSettings {
            retry_timeout: Duration::from_secs(self.storage_retry_secs),
            ..StorageSettings::default()
        };
        DataSource::parse(self.data_url.as_deref().unwrap_or(&self.data_dir), storage)
    }

    /// The watcher runs where jobs run: in instances with workers, unless `WATCH=off`.
    pub fn watches(&self) -> bool {
        self.watch.is_on() && self.worker_count() > 0
    }

    pub fn serves_jobs_api(&self) -> bool {
        self.role != Role::Worker
    }

    /// How long finished jobs are kept; `None`: for ever.
    pub fn job_retention(&self) -> Option<Duration> {
        (self.job_retention_days > 0)
            .then(|| Duration::from_secs(u64::from(self.job_retention_days) * 24 * 60 * 60))
    }

    /// How many replaced versions of a day are kept, and for how long.
    pub fn retention(&self) -> Retention {
        Retention {
            keep: self.keep_versions,
            max_age: Duration::from_secs(self.keep_versions_hours.saturating_mul(3600)),
        }
    }

    /// The audit to run before each swap: `AUDITS_FILE`, or the committed defaults;
    /// `None` when it is `off`.
    pub fn audits(&self) -> Result<Option<Arc<AuditConfig>>, AuditConfigError> {
        Ok(AuditConfig::from_setting(self.audits_file.as_deref())?.map(Arc::new))
    }

    pub fn heartbeat_interval(&self) -> Duration {
        Duration::from_millis(self.heartbeat_ms)
    }

    pub fn stale_after(&self) -> Duration {
        Duration::from_secs(self.stale_after_secs)
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_ms)
    }

    /// Connections this process may hold at once: each worker's COPY streams and its
    /// heartbeat, plus two for HTTP requests and the reaper, one for the watcher and one
    /// for the event relay's `LISTEN`.
    pub fn connections_needed(&self) -> u64 {
        self.worker_count() as u64 * (self.load_streams.get() as u64 + 1)
            + 2
            + u64::from(self.watches())
            + u64::from(self.serves_jobs_api())
    }

    /// Refuses settings under which loads would wait for connections the pool never has
    /// (and fail after the acquire timeout, over and over).
    pub fn check(&self) -> Result<(), String> {
        self.check_worker()?;
        if self.serves_jobs_api()
            && !self.bind.ip().is_loopback()
            && self.api_token().is_none()
            && !self.allow_anonymous_writes
        {
            return Err(format!(
                "BIND={} listens beyond this machine and no API_TOKEN is set: anyone who can \
                 reach it could replace or cancel loads. Set API_TOKEN, or \
                 ALLOW_ANONYMOUS_WRITES=true if an open API is intended",
                self.bind
            ));
        }
        if let Some(weak) = self
            .api_token()
            .and_then(|t| http::weak_token(t.expose_secret()))
        {
            return Err(weak);
        }
        if self.live.is_on() && self.reads_a_bucket() {
            return Err(
                "LIVE=on needs a directory to watch; DATA_DIR names a bucket (see WATCH)".into(),
            );
        }
        if self.live.is_on() && !self.watches() {
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
        // A worker is declared dead after STALE_AFTER_SECS without a heartbeat: a live one
        // must beat several times in that span, or a slow beat gets its job taken away.
        if self.heartbeat_ms.saturating_mul(3) > self.stale_after_secs.saturating_mul(1000) {
            return Err(format!(
                "HEARTBEAT_MS={} is not well below STALE_AFTER_SECS={}: a running job would be \
                 taken for dead between two heartbeats; keep HEARTBEAT_MS at most a third of \
                 STALE_AFTER_SECS × 1000",
                self.heartbeat_ms, self.stale_after_secs
            ));
        }
        self.audits().map_err(|error| error.to_string())?;
        let needed = self.connections_needed();
        if needed > u64::from(self.db_max_connections) {
            return Err(format!(
                "DB_MAX_CONNECTIONS={} is too few for WORKERS={} with LOAD_STREAMS={}: they need \
                 up to {needed} connections (WORKERS × (LOAD_STREAMS + 1) + 2, one more for \
                 the watcher and one for the event relay); raise DB_MAX_CONNECTIONS or lower \
                 WORKERS or LOAD_STREAMS",
                self.db_max_connections,
                self.worker_count(),
                self.load_streams
            ));
        }
        Ok(())
    }

    /// The token, if one is configured and not blank.
    pub fn api_token(&self) -> Option<&SecretString> {
        self.api_token
            .as_ref()
            .filter(|t| !t.expose_secret().trim().is_empty())
    }

    /// The CLI's defaults with the given database and data directory, listening on a
    /// free port of 127.0.0.1; for tests and embedding. (Built by hand, not parsed, so
    /// that variables of the caller's environment cannot leak in.)
    pub fn new(database_url: &str, data_dir: PathBuf) -> Self {
        Self {
            command: None,
            database_url: database_url.into(),
            data_dir: data_dir.to_string_lossy().into_owned(),
            data_url: None,
            storage_retry_secs: 60,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_token: None,
            allow_anonymous_writes: false,
            workers: 1,
            role: Role::All,
            log_format: LogFormat::Pretty,
            max_attempts: 3,
            heartbeat_ms: 1000,
            stale_after_secs: 30,
            poll_ms: 500,
            load_streams: Streams::default(),
            shrink_guard_percent: 90,
            keep_versions: 2,
            keep_versions_hours: 72,
            audits_file: None,
            http_db_connections: 4,
            http_statement_timeout_ms: 30_000,
            job_retention_days: 30,
            db_max_connections: 10,
            watch: Switch::On,
            settle_secs: 10,
            rescan_secs: 60,
            live: Switch::Off,
            http: HttpSettings::default(),
        }
    }
}

#[cfg(test)]
mod tests;
