//! Settings of the load workers: how many, what this process does, how jobs are retried,
//! how a running job proves it is alive, and how long finished jobs are kept.

use std::time::Duration;

use clap::{Args, ValueEnum};

/// `WORKERS`, `ROLE`, `MAX_ATTEMPTS`, `HEARTBEAT_MS`, `STALE_AFTER_SECS`, `POLL_MS`,
/// `JOB_RETENTION_DAYS`, `DB_MAX_CONNECTIONS`.
#[derive(Clone, Debug, Args)]
pub struct WorkerSettings {
    /// Load workers in this process. 0 serves the API only (another instance loads).
    #[arg(id = "workers", long = "workers", env = "WORKERS", default_value_t = 1)]
    pub count: usize,

    /// Serve HTTP (`all`, `api`) and/or run workers (`all`, `worker`). A `worker`
    /// instance still answers /healthz, /readyz and /metrics.
    #[arg(long, env = "ROLE", value_enum, default_value_t = Role::All)]
    pub role: Role,

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

    /// Finished jobs are forgotten this many days after they ended (with their attempts),
    /// except the job that loaded a day's current rows; 0 keeps every job.
    #[arg(long, env = "JOB_RETENTION_DAYS", default_value_t = 30)]
    pub job_retention_days: u32,

    /// Size of the database connection pool of the workers (and start-up work). Each running load also holds one connection
    /// outside the pool, for its day's lock (see `loader`'s `DayLock`).
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(2..))]
    pub db_max_connections: u32,
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

impl WorkerSettings {
    /// Workers this process runs, after the role is taken into account.
    pub fn worker_count(&self) -> usize {
        match self.role {
            Role::Api => 0,
            Role::All | Role::Worker => self.count,
        }
    }

    /// How long finished jobs are kept; `None`: for ever.
    pub fn job_retention(&self) -> Option<Duration> {
        (self.job_retention_days > 0)
            .then(|| Duration::from_secs(u64::from(self.job_retention_days) * 24 * 60 * 60))
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

    /// A worker is declared dead after STALE_AFTER_SECS without a heartbeat: a live one
    /// must beat several times in that span, or a slow beat gets its job taken away.
    pub fn check_heartbeat(&self) -> Result<(), String> {
        if self.heartbeat_ms.saturating_mul(3) > self.stale_after_secs.saturating_mul(1000) {
            return Err(format!(
                "HEARTBEAT_MS={} is not well below STALE_AFTER_SECS={}: a running job would be \
                 taken for dead between two heartbeats; keep HEARTBEAT_MS at most a third of \
                 STALE_AFTER_SECS × 1000",
                self.heartbeat_ms, self.stale_after_secs
            ));
        }
        Ok(())
    }
}
