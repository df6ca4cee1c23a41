//! How a load runs: the options a caller (the CLI, the API's workers) gives [`load_day`].
//!
//! [`load_day`]: crate::load_day

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::copy::stream_count::Streams;
use crate::fence::Fence;
use crate::publish::audit::AuditConfig;
use crate::publish::swap::SwapPolicy;
use crate::publish::swap_check::SwapCheck;
use crate::publish::versions::Retention;

/// How a load runs.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Parallel COPY connections. When the files' statistics allow, each fills a part of
    /// the day of its own; otherwise the day is one part that they share.
    pub streams: Streams,
    /// How long the swap waits for its locks before it backs off and retries.
    pub lock_timeout: Duration,
    /// Swap attempts before giving up (the day then stays as it was).
    pub swap_attempts: u32,
    /// Refresh planner statistics of the new day's leaves before they become visible
    /// (each stream analyzes its own, in parallel). Off by default: at the default
    /// statistics target it added 19 % to a day's load (`bench/query-ready.sh`,
    /// 2026-11-29), and autovacuum analyzes the new leaves soon after (their rows count as
    /// inserted).
    pub analyze: bool,
    /// Load a day that lacks minute files (recorded as partial, with the minutes it
    /// lacks). Off: an incomplete day is refused ([`LoadError::DayIncomplete`](crate::LoadError::DayIncomplete)).
    pub allow_partial: bool,
    /// A replace may not leave the day with fewer than this share of the rows it holds
    /// ([`LoadError::WouldShrink`](crate::LoadError::WouldShrink)); 0 turns the guard off.
    pub shrink_guard_percent: u8,
    /// Replace the day even when it shrinks below the guard.
    pub force: bool,
    /// Recorded with the day in `dwh.day_loads`.
    pub job_id: Option<Uuid>,
    /// Run in the swap transaction just before it commits; it may refuse the swap.
    pub swap_check: Option<SwapCheck>,
    /// Asked on every connection before it writes, and before each stream commits.
    pub fence: Option<Fence>,
    /// Checks of the staging tables before the swap; `None`: no audit.
    pub audits: Option<Arc<AuditConfig>>,
    /// How many replaced versions of the day are kept, and for how long.
    pub retention: Retention,
}

impl LoadOptions {
    /// How the swap runs for this load.
    pub(crate) fn swap_policy(&self) -> SwapPolicy {
        SwapPolicy {
            lock_timeout: self.lock_timeout,
            attempts: self.swap_attempts,
            shrink_guard_percent: self.shrink_guard(),
            check: self.swap_check.clone(),
            retention: self.retention,
        }
    }

    /// The shrink guard in force: none when forced.
    pub(crate) fn shrink_guard(&self) -> u8 {
        if self.force {
            0
        } else {
            self.shrink_guard_percent
        }
    }
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            streams: Streams::default(),
            lock_timeout: Duration::from_secs(1),
            swap_attempts: 10,
            analyze: false,
            allow_partial: false,
            shrink_guard_percent: 90,
            force: false,
            job_id: None,
            swap_check: None,
            fence: None,
            audits: None,
            retention: Retention::default(),
        }
    }
}
