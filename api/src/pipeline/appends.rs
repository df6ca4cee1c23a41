//! What a live appender keeps between ticks, the sample's (`live`) and each declared
//! dataset's (`dataset_live`) alike: the files refused until they change, and the days a
//! load held up.

use std::collections::{BTreeSet, HashSet};
use std::hash::Hash;

use chrono::NaiveDate;

/// How one append ended.
pub enum Appended {
    Done,
    /// Nothing to do: another instance has it or did it, or the day is loaded.
    Skipped,
    /// A load of the day holds it: later.
    Busy,
    /// The file could not be appended (a bad file, or one still being written in place).
    Refused,
}

/// One appender's memory; `K` names a file (a minute of a day, a dataset's path).
#[derive(Debug)]
pub struct Appends<K> {
    /// Refused files: not tried again until the watcher sees them change.
    refused: HashSet<K>,
    /// Days whose appends found a load of the day running: tried again on the next tick.
    busy: BTreeSet<NaiveDate>,
}

impl<K> Default for Appends<K> {
    fn default() -> Self {
        Self {
            refused: HashSet::new(),
            busy: BTreeSet::new(),
        }
    }
}

impl<K: Eq + Hash> Appends<K> {
    /// The watcher saw these files change: a refused one may be readable now.
    pub fn seen(&mut self, keys: impl IntoIterator<Item = K>) {
        for key in keys {
            self.refused.remove(&key);
        }
    }

    /// Days to try again because a load held them.
    pub fn take_busy(&mut self) -> Vec<NaiveDate> {
        std::mem::take(&mut self.busy).into_iter().collect()
    }

    /// Whether `key`, of `day`, is worth an append now.
    pub fn should_try(&self, day: NaiveDate, key: &K) -> bool {
        !self.refused.contains(key) && !self.busy.contains(&day)
    }

    /// Notes how the append of `key`, of `day`, ended; `true` when it appended.
    pub fn note(&mut self, day: NaiveDate, key: K, outcome: Appended) -> bool {
        match outcome {
            Appended::Done => return true,
            Appended::Skipped => {}
            Appended::Busy => {
                self.busy.insert(day);
            }
            Appended::Refused => {
                self.refused.insert(key);
            }
        }
        false
    }
}
