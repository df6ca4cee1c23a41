//! How loads run, and how long what they replace is kept: `LOAD_STREAMS`,
//! `SHRINK_GUARD_PERCENT`, `AUDITS_FILE`, `KEEP_VERSIONS`, `KEEP_VERSIONS_HOURS`.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::copy::stream_count::Streams;
use crate::load::options::LoadOptions;
use crate::publish::audit::{AuditConfig, AuditConfigError};
use crate::publish::versions::Retention;

/// How every load of a process runs.
#[derive(Clone, Debug, Args)]
pub struct LoadingSettings {
    /// Parallel COPY connections per load, 1 to 16; each fills its own part of the day
    /// when the files' footers allow. More than the server's cores only adds contention.
    #[arg(long = "streams", visible_alias = "load-streams", env = "LOAD_STREAMS",
          default_value_t = Streams::default())]
    pub streams: Streams,

    /// Refuse a replace that would leave a day with fewer than this percentage of the rows
    /// it holds, unless forced (0 turns the guard off).
    #[arg(long = "shrink-guard", visible_alias = "shrink-guard-percent", env = "SHRINK_GUARD_PERCENT",
          default_value_t = LoadOptions::default().shrink_guard_percent,
          value_parser = clap::value_parser!(u8).range(0..=100))]
    pub shrink_guard_percent: u8,

    /// The audit file (TOML): checks of a load's staging tables before its swap. Unset: the
    /// defaults for the dataset, as committed in `loader/audits.toml`; `off`: no audit.
    #[arg(
        long = "audits",
        visible_alias = "audits-file",
        env = "AUDITS_FILE",
        value_name = "FILE|off"
    )]
    pub audits_file: Option<String>,

    #[command(flatten)]
    pub retention: RetentionSettings,
}

impl LoadingSettings {
    /// The audit to run before each swap: `AUDITS_FILE`, or the committed defaults;
    /// `None` when it is `off`.
    pub fn audits(&self) -> Result<Option<Arc<AuditConfig>>, AuditConfigError> {
        Ok(AuditConfig::from_setting(self.audits_file.as_deref())?.map(Arc::new))
    }
}

/// How many replaced versions of a day are kept, and how long.
#[derive(Clone, Debug, Args)]
pub struct RetentionSettings {
    /// Replaced versions of each day kept for rollback (their rows stay in schema
    /// `dwh_history`, which readers of `dwh` cannot see); 0 drops a day's old rows when it
    /// is replaced.
    #[arg(long, env = "KEEP_VERSIONS", default_value_t = Retention::default().keep)]
    pub keep_versions: u32,

    /// A replaced version is dropped this many hours after it was replaced, however few are
    /// kept (checked after each load, and hourly by the API).
    #[arg(long, env = "KEEP_VERSIONS_HOURS", default_value_t = Retention::default().max_age.as_secs() / 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub keep_versions_hours: u64,
}

impl RetentionSettings {
    pub fn retention(&self) -> Retention {
        Retention {
            keep: self.keep_versions,
            max_age: Duration::from_secs(self.keep_versions_hours.saturating_mul(3600)),
        }
    }
}
