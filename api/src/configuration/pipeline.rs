//! Settings of the pipeline: the watcher that keeps the file ledger and queues complete
//! days, and live appends.

use clap::{Args, ValueEnum};

/// `WATCH`, `SETTLE_SECS`, `RESCAN_SECS`, `LIVE`.
#[derive(Clone, Debug, Args)]
pub struct PipelineSettings {
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
