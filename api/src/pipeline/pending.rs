//! The days a watcher has to decide about, the sample's and each declared dataset's
//! alike: each with when to look at it next (its files changed: once they have settled).

use std::collections::BTreeMap;
use std::fmt::Display;

use chrono::NaiveDate;
use tokio::time::Instant;

use super::Pipeline;
use super::settle::Verdict;

#[derive(Debug, Default)]
pub struct PendingDays(BTreeMap<NaiveDate, Instant>);

impl PendingDays {
    /// Every one of `days`, due now (at start-up: one may have settled unwatched).
    pub fn due_now(days: impl IntoIterator<Item = NaiveDate>) -> Self {
        let now = Instant::now();
        Self(days.into_iter().map(|day| (day, now)).collect())
    }

    /// `day` is to be looked at `at` (again, or later than planned).
    pub fn look_at(&mut self, day: NaiveDate, at: Instant) {
        self.0.insert(day, at);
    }

    /// The days due now, and that now.
    pub fn due(&self) -> (Instant, Vec<NaiveDate>) {
        let now = Instant::now();
        let due = self
            .0
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(day, _)| *day)
            .collect();
        (now, due)
    }

    /// What the decision about `day`, due `now`, says: a day that must wait is looked at
    /// again when it says, one decided is forgotten (and a queued job wakes the workers),
    /// one that could not be decided is tried again after `SETTLE_SECS`. (The caller
    /// decides: a generic deciding closure here would make the watcher's task unspawnable.)
    pub fn decided<E: Display>(
        &mut self,
        pipeline: &Pipeline,
        (dataset, day, now): (&str, NaiveDate, Instant),
        decision: Result<Verdict, E>,
    ) {
        match decision {
            Ok(Verdict::Wait(left)) => self.look_at(day, now + left),
            Ok(verdict) => {
                self.0.remove(&day);
                if matches!(verdict, Verdict::Queue(_)) {
                    pipeline.wake.notify_waiters();
                }
            }
            Err(error) => {
                tracing::warn!(%error, %day, dataset,
                    "cannot decide whether the day is due; trying again");
                self.look_at(day, now + pipeline.settle);
            }
        }
    }
}
