//! Seeing the data directory change: file-system notifications (inotify, through
//! `notify`) for speed, and a listing of the whole directory every `RESCAN_SECS` for what
//! they miss (an overflowed queue, a network file system, changes while no instance ran).
//!
//! Both end in [`Observer`], which compares each minute file with what it last saw and
//! fingerprints only the files that are new or whose size or modification time moved. A
//! bucket sends no notifications: it is listed every `RESCAN_SECS`, and compared the same
//! way ([`Observer::objects`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::ledger::{MinuteKey, Observation, Stat};

/// What the notifications say.
#[derive(Debug)]
pub enum Signal {
    /// This path was created, written, renamed or removed.
    Changed(PathBuf),
    /// Notifications were lost (the kernel's queue overflowed): list the directory.
    Rescan,
}

/// Starts watching `dir` (not its subdirectories). The watcher stops when dropped.
pub fn start(dir: &Path) -> notify::Result<(RecommendedWatcher, mpsc::UnboundedReceiver<Signal>)> {
    let (sender, receiver) = mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(%error, "file notification error; listing the directory");
                let _ = sender.send(Signal::Rescan);
                return;
            }
        };
        if event.need_rescan() {
            let _ = sender.send(Signal::Rescan);
        }
        if matters(event.kind) {
            for path in event.paths {
                let _ = sender.send(Signal::Changed(path));
            }
        }
    })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    Ok((watcher, receiver))
}

/// Whether an event can mean new content. Reads (ours included: fingerprints and loads
/// open every file) cannot, and would otherwise echo back as events.
pub(super) fn matters(kind: EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Names of a day that are not its minute files, by day.
pub type Strays = HashMap<NaiveDate, BTreeSet<String>>;

/// What one watcher has seen of the directory: each minute file, and each day's strays.
#[derive(Debug)]
pub struct Observer {
    dir: PathBuf,
    known: HashMap<MinuteKey, Stat>,
    strays: Strays,
}

impl Observer {
    /// Starts from what the ledger holds, so that a restart fingerprints only what changed.
    pub fn new(dir: PathBuf, known: HashMap<MinuteKey, Stat>, strays: Strays) -> Self {
        Self { dir, known, strays }
    }

    /// What changed among `paths`: notified paths of the directory (the watch is not
    /// recursive, so only their names matter); names of no minute file are ignored.
    pub fn paths(&mut self, paths: &[PathBuf]) -> Vec<Observation> {
        let mut seen = Vec::new();
        let mut done = HashSet::new();
        let mut stray_days = BTreeMap::new();
        for path in paths {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if let Some(key) = key_of(name)
                && done.insert(key)
            {
                seen.extend(self.file(key, name));
            } else if let Some(day) = loader::stray_day(name) {
                let names = stray_days
                    .entry(day)
                    .or_insert_with(|| self.strays.get(&day).cloned().unwrap_or_default());
                if std::fs::symlink_metadata(self.dir.join(name)).is_ok() {
                    names.insert(name.to_owned());
                } else {
                    names.remove(name);
                }
            }
        }
        seen.extend(self.strays_now(stray_days));
        seen
    }

    /// Records the days' stray names as they are now; what changed, as observations.
    fn strays_now(&mut self, now: BTreeMap<NaiveDate, BTreeSet<String>>) -> Vec<Observation> {
        let mut seen = Vec::new();
        for (day, names) in now {
            if self
                .strays
                .get(&day)
                .map_or(names.is_empty(), |old| *old == names)
            {
                continue;
            }
            seen.push(Observation::Strays {
                day,
                names: names.iter().cloned().collect(),
            });
            if names.is_empty() {
                self.strays.remove(&day);
            } else {
                self.strays.insert(day, names);
            }
        }
        seen
    }

    /// What changed in the whole directory since it was last looked at, files gone
    /// included.
    pub fn everything(&mut self) -> std::io::Result<Vec<Observation>> {
        let mut seen = Vec::new();
        let mut present = HashSet::new();
        let mut strays = self.days_with_strays();
        for entry in std::fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(key) = key_of(name)
                && present.insert(key)
            {
                seen.extend(self.file(key, name));
            } else if let Some(day) = loader::stray_day(name) {
                strays.entry(day).or_default().insert(name.to_owned());
            }
        }
        seen.extend(self.strays_now(strays));
        seen.extend(self.gone_unless(&present));
        Ok(seen)
    }

    /// A bucket's listing compared with what was seen: the objects that are new or whose
    /// size or modification time moved (to fingerprint, then [`Observer::fingerprinted`]),
    /// and what already changed (objects gone, a day's strays).
    pub fn objects(
        &mut self,
        listed: Vec<loader::ListedObject>,
    ) -> (Vec<(MinuteKey, loader::ListedObject)>, Vec<Observation>) {
        let mut changed = Vec::new();
        let mut present = HashSet::new();
        let mut strays = self.days_with_strays();
        for object in listed {
            if let Some(key) = key_of(&object.name)
                && present.insert(key)
            {
                if self.known.get(&key) != Some(&Stat::new(object.size, object.modified)) {
                    changed.push((key, object));
                }
            } else if let Some(day) = loader::stray_day(&object.name) {
                strays.entry(day).or_default().insert(object.name);
            }
        }
        let mut seen = self.strays_now(strays);
        seen.extend(self.gone_unless(&present));
        (changed, seen)
    }

    /// Records an object's fingerprint, taken after [`Observer::objects`] found it changed.
    pub fn fingerprinted(
        &mut self,
        key: MinuteKey,
        name: String,
        fingerprint: &loader::Fingerprint,
    ) -> Observation {
        let stat = Stat::new(
            fingerprint.bytes(),
            fingerprint.modified().unwrap_or(std::time::UNIX_EPOCH),
        );
        self.known.insert(key, stat);
        Observation::Present {
            key,
            name,
            stat,
            fingerprint: fingerprint.footer_hex(),
        }
    }

    /// Every day that had strays, with none yet: a listing fills in the names it finds,
    /// so that a day whose strays all went says so.
    fn days_with_strays(&self) -> BTreeMap<NaiveDate, BTreeSet<String>> {
        self.strays
            .keys()
            .map(|&day| (day, BTreeSet::new()))
            .collect()
    }

    /// Forgets the files a full listing did not find among `present`; they are gone.
    fn gone_unless(&mut self, present: &HashSet<MinuteKey>) -> Vec<Observation> {
        let gone: Vec<MinuteKey> = self
            .known
            .keys()
            .filter(|key| !present.contains(key))
            .copied()
            .collect();
        for key in &gone {
            self.known.remove(key);
        }
        gone.into_iter()
            .map(|key| Observation::Gone { key })
            .collect()
    }

    /// Forgets what was seen of these files, so that they are looked at again: what was
    /// seen could not be recorded.
    pub fn forget(&mut self, seen: &[Observation]) {
        for observation in seen {
            match observation {
                Observation::Present { key, .. } => {
                    self.known.remove(key);
                }
                Observation::Strays { day, .. } => {
                    self.strays.remove(day);
                }
                Observation::Gone { .. } => {}
            }
        }
    }

    /// The file at `key` now, when it differs from what was last seen.
    fn file(&mut self, key: MinuteKey, name: &str) -> Option<Observation> {
        let path = self.dir.join(name);
        let metadata = match std::fs::metadata(&path) {
            Ok(metadata) if metadata.is_file() => metadata,
            // Gone (or never a file): its row says so, if it has one.
            _ => {
                return self.known.remove(&key).map(|_| Observation::Gone { key });
            }
        };
        let stat = Stat::of(&metadata).ok()?;
        if self.known.get(&key) == Some(&stat) {
            return None;
        }
        // Read through one handle: the stat recorded is that of the footer hashed.
        let fingerprint = match loader::fingerprint_file(&path) {
            Ok(fingerprint) => fingerprint,
            Err(error) => {
                tracing::debug!(%error, "cannot fingerprint a minute file yet");
                return None;
            }
        };
        let stat = fingerprint
            .modified()
            .map_or(stat, |modified| Stat::new(fingerprint.bytes(), modified));
        self.known.insert(key, stat);
        Some(Observation::Present {
            key,
            name: name.to_owned(),
            stat,
            fingerprint: fingerprint.footer_hex(),
        })
    }
}

/// The ledger's key of a canonical minute file name.
fn key_of(name: &str) -> Option<MinuteKey> {
    let (day, minute) = loader::parse_minute_file(name)?;
    Some((day, i16::try_from(minute).ok()?))
}
