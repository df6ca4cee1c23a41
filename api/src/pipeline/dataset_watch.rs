//! A declared dataset's watcher: the files of its pattern (and its days' marker files) in
//! its source, kept in the dataset's file ledger per file; days that settle are queued
//! (`dataset_settle`). A directory is watched recursively (its Hive folders included) and
//! every notification brings a listing of it a moment later; a bucket sends none and is
//! listed every `RESCAN_SECS`. Either is also listed every `RESCAN_SECS`, for what
//! notifications miss.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use futures::StreamExt;
use loader::{Bucket, DataSource, Layout, ListedObject};
use notify::{Event, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::dataset_live::DatasetAppender;
use super::dataset_settle::settle_dataset_day;
use super::pending::PendingDays;
use super::{FINGERPRINTS_IN_FLIGHT, Pipeline, TICK};
use crate::catalog::ServedDataset;
use crate::ledger::Stat;
use crate::ledger::dataset_files::{self, FileKind, FileSeen};

/// How long after a notification the source is listed: a writer's burst of files (a
/// day's parts, then its marker) is listed once.
const AFTER_NOTICE: Duration = Duration::from_millis(300);

/// A file found by a listing, before it is fingerprinted.
struct Found {
    day: NaiveDate,
    path: String,
    kind: FileKind,
    stat: Stat,
    /// A bucket's object, for its fingerprint's ranged read.
    object: Option<ListedObject>,
}

/// Watches `dataset` until shutdown.
pub async fn run(pipeline: Pipeline, dataset: Arc<ServedDataset>) {
    let Some(mut watched) = Watched::start(&pipeline, dataset).await else {
        return;
    };
    let (_watcher, mut notices) = match &watched.dataset.source {
        DataSource::Dir(dir) => match watch_tree(dir) {
            Ok((watcher, notices)) => (Some(watcher), Some(notices)),
            Err(error) => {
                tracing::warn!(%error, dataset = watched.dataset.name(),
                    "cannot watch the dataset's directory; it is listed every RESCAN_SECS");
                (None, None)
            }
        },
        DataSource::Bucket(_) => (None, None),
    };
    let mut rescan = tokio::time::interval(pipeline.rescan);
    let mut tick = tokio::time::interval(TICK);
    let mut listing_due: Option<Instant> = None;
    tracing::info!(dataset = watched.dataset.name(), source = %watched.dataset.source,
        "watching the dataset's source");
    loop {
        let due = listing_due.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            () = pipeline.shutdown.cancelled() => break,
            Some(()) = next(&mut notices) => {
                listing_due.get_or_insert(Instant::now() + AFTER_NOTICE);
            }
            () = tokio::time::sleep_until(due), if listing_due.is_some() => {
                listing_due = None;
                watched.rescan(&pipeline).await;
            }
            _ = rescan.tick() => watched.rescan(&pipeline).await,
            _ = tick.tick() => watched.settle_due(&pipeline).await,
        }
    }
}

async fn next(notices: &mut Option<mpsc::UnboundedReceiver<()>>) -> Option<()> {
    match notices {
        Some(notices) => notices.recv().await,
        None => std::future::pending().await,
    }
}

/// Watches `dir` and everything below it; each change that can mean new content sends a
/// notice (the listing that follows says what changed).
fn watch_tree(dir: &Path) -> notify::Result<(RecommendedWatcher, mpsc::UnboundedReceiver<()>)> {
    let (sender, receiver) = mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
        if event.is_err() || event.is_ok_and(|e| e.need_rescan() || super::watch::matters(e.kind)) {
            let _ = sender.send(());
        }
    })?;
    watcher.watch(dir, RecursiveMode::Recursive)?;
    Ok((watcher, receiver))
}

struct Watched {
    dataset: Arc<ServedDataset>,
    /// What was last seen of each file, by path.
    known: HashMap<String, (NaiveDate, Stat)>,
    /// Days that changed and may be due for a job, with when to look at them next.
    pending: PendingDays,
    /// Its live appends, when it is declared `live`.
    appender: Option<DatasetAppender>,
}

impl Watched {
    /// Starts from the ledger and lists the source once; every day the ledger knows is
    /// looked at (one may have settled while no instance watched). `None` on shutdown.
    async fn start(pipeline: &Pipeline, dataset: Arc<ServedDataset>) -> Option<Self> {
        let name = dataset.name().to_owned();
        let (known, days) = loop {
            let read = async {
                Ok::<_, sqlx::Error>((
                    dataset_files::known(&pipeline.pool, &name).await?,
                    dataset_files::days(&pipeline.pool, &name).await?,
                ))
            };
            match read.await {
                Ok(read) => break read,
                Err(error) => {
                    tracing::warn!(%error, dataset = name, "cannot read the file ledger; trying again");
                    tokio::select! {
                        () = pipeline.shutdown.cancelled() => return None,
                        () = tokio::time::sleep(Duration::from_secs(2)) => {}
                    }
                }
            }
        };
        let mut watched = Self {
            appender: dataset.dataset.live.then(DatasetAppender::default),
            dataset,
            known,
            pending: PendingDays::due_now(days),
        };
        watched.rescan(pipeline).await;
        // Files recorded before a restart may wait for their append still.
        watched.append_live(pipeline).await;
        Some(watched)
    }

    /// Lists the source, fingerprints what is new or moved, and records it with what is gone.
    async fn rescan(&mut self, pipeline: &Pipeline) {
        let layout = self.dataset.dataset.layout.clone();
        let listed = match &self.dataset.source {
            DataSource::Dir(dir) => {
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || list_dir(&dir, &layout))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|listed| listed.map_err(|e| e.to_string()))
            }
            DataSource::Bucket(bucket) => list_bucket(bucket, &layout).await,
        };
        let found = match listed {
            Ok(found) => found,
            Err(error) => {
                return tracing::warn!(%error, dataset = self.dataset.name(), "cannot list the dataset's source");
            }
        };
        let present: BTreeSet<String> = found.iter().map(|f| f.path.clone()).collect();
        let changed: Vec<Found> = found
            .into_iter()
            .filter(|f| self.known.get(&f.path) != Some(&(f.day, f.stat)))
            .collect();
        let seen = self.fingerprint(changed).await;
        let gone: Vec<(NaiveDate, String)> = self
            .known
            .iter()
            .filter(|(path, _)| !present.contains(*path))
            .map(|(path, (day, _))| (*day, path.clone()))
            .collect();
        if seen.is_empty() && gone.is_empty() {
            return;
        }
        let name = self.dataset.name();
        if let Err(error) = dataset_files::record(&pipeline.pool, name, &seen, &gone).await {
            return tracing::warn!(%error, dataset = name, "cannot record the files seen; they are looked at again");
        }
        let at = Instant::now() + pipeline.settle;
        for file in &seen {
            self.known.insert(file.path.clone(), (file.day, file.stat));
            self.pending.look_at(file.day, at);
        }
        for (day, path) in &gone {
            self.known.remove(path);
            self.pending.look_at(*day, at);
        }
        if let Some(appender) = &mut self.appender {
            appender.seen(seen.iter().map(|f| (f.day, f.path.clone())));
            self.append_live(pipeline).await;
        }
    }

    /// Appends live what waits, for a dataset declared `live`.
    async fn append_live(&mut self, pipeline: &Pipeline) {
        let Some(appender) = &mut self.appender else {
            return;
        };
        let rule = self.dataset.dataset.layout.rule();
        let whole_at = match (rule.complete, rule.cadence) {
            (loader::Completeness::All, Some(cadence)) => i64::try_from(cadence.slots()).ok(),
            _ => None,
        };
        let appended = appender
            .append_waiting(&pipeline.pool, &self.dataset, whole_at)
            .await;
        if let Err(error) = appended {
            tracing::warn!(%error, dataset = self.dataset.name(), "live files could not be appended; trying again");
        }
    }

    /// The footers' fingerprints of the files found changed (a marker has none); a file
    /// that cannot be read yet (still being written) is left for the next listing.
    async fn fingerprint(&self, changed: Vec<Found>) -> Vec<FileSeen> {
        let source = &self.dataset.source;
        futures::stream::iter(changed)
            .map(|found| async move {
                let fingerprint = match (found.kind, source, &found.object) {
                    (FileKind::Marker, _, _) => Ok(String::new()),
                    (_, DataSource::Bucket(bucket), Some(object)) => bucket
                        .fingerprint(object)
                        .await
                        .map(|f| f.footer_hex())
                        .map_err(|e| e.to_string()),
                    (_, DataSource::Dir(dir), _) => {
                        let path = dir.join(&found.path);
                        tokio::task::spawn_blocking(move || loader::fingerprint_file(&path))
                            .await
                            .map_err(|e| e.to_string())
                            .and_then(|f| f.map(|f| f.footer_hex()).map_err(|e| e.to_string()))
                    }
                    (_, DataSource::Bucket(_), None) => Err("an object without its listing".into()),
                };
                match fingerprint {
                    Ok(fingerprint) => Some(FileSeen {
                        day: found.day,
                        path: found.path,
                        kind: found.kind,
                        stat: found.stat,
                        fingerprint,
                    }),
                    Err(error) => {
                        tracing::debug!(%error, path = found.path, "cannot fingerprint a file yet");
                        None
                    }
                }
            })
            .buffer_unordered(FINGERPRINTS_IN_FLIGHT)
            .filter_map(std::future::ready)
            .collect()
            .await
    }

    /// Retries live appends a load held up, and decides about the days due.
    async fn settle_due(&mut self, pipeline: &Pipeline) {
        if self
            .appender
            .as_mut()
            .is_some_and(|appender| !appender.take_busy().is_empty())
        {
            self.append_live(pipeline).await;
        }
        let (now, due) = self.pending.due();
        for day in due {
            let decision = settle_dataset_day(pipeline, &self.dataset, day).await;
            let about = (self.dataset.name(), day, now);
            self.pending.decided(pipeline, about, decision);
        }
    }
}

/// The files of `layout` under `dir`, with each day's marker file when it has one.
fn list_dir(dir: &Path, layout: &Layout) -> Result<Vec<Found>, loader::LoadError> {
    let mut found = Vec::new();
    let mut days = BTreeSet::new();
    for (path, day) in loader::files_in_dir(dir, layout)? {
        // A file that went between the walk and its stat is simply not there.
        if let Ok(stat) = std::fs::metadata(dir.join(&path)).and_then(|m| Stat::of(&m)) {
            days.insert(day);
            found.push(Found {
                day,
                path,
                kind: FileKind::File,
                stat,
                object: None,
            });
        }
    }
    for day in days {
        let Some(marker) = layout.marker_of(day) else {
            continue;
        };
        if let Ok(metadata) = std::fs::metadata(dir.join(&marker))
            && metadata.is_file()
            && let Ok(stat) = Stat::of(&metadata)
        {
            found.push(Found {
                day,
                path: marker,
                kind: FileKind::Marker,
                stat,
                object: None,
            });
        }
    }
    Ok(found)
}

/// The objects of `layout` in `bucket`, with each day's marker object when it has one.
async fn list_bucket(bucket: &Bucket, layout: &Layout) -> Result<Vec<Found>, String> {
    let objects = bucket
        .list_objects_below()
        .await
        .map_err(|e| e.to_string())?;
    let mut found = Vec::new();
    let mut by_name: HashMap<&str, &ListedObject> = HashMap::new();
    let mut days = BTreeSet::new();
    for object in &objects {
        by_name.insert(&object.name, object);
        if let Some(day) = layout.date_of(&object.name) {
            days.insert(day);
            found.push(Found {
                day,
                path: object.name.clone(),
                kind: FileKind::File,
                stat: Stat::new(object.size, object.modified),
                object: Some(object.clone()),
            });
        }
    }
    for day in days {
        if let Some(marker) = layout.marker_of(day)
            && let Some(object) = by_name.get(marker.as_str())
        {
            found.push(Found {
                day,
                path: marker,
                kind: FileKind::Marker,
                stat: Stat::new(object.size, object.modified),
                object: None,
            });
        }
    }
    Ok(found)
}
