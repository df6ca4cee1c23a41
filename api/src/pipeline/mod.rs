//! Pipeline mode: days load themselves as their files arrive.
//!
//! Every instance with workers watches `DATA_DIR` (`watch`; a bucket is listed every
//! `RESCAN_SECS` instead) and records each minute file
//! in the file ledger ([`crate::ledger`], whose storage lies below the watcher: the queue
//! and the pages read it too). A day
//! whose 1,440 files are all there and settled is queued by itself ([`settle`]); with
//! `LIVE=on`, each minute of a day neither complete nor loaded is appended as soon as it
//! lands (`live`), and the day's load later replaces those rows with the canonical day.
//! Instances watching the same directory agree through the database: the ledger's rows,
//! a lock per day for the decision to queue, and the ledger row of a live minute locked
//! while it is appended.

mod appends;
mod dataset_live;
mod dataset_settle;
mod dataset_watch;
mod live;
mod pending;
pub mod settle;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use futures::StreamExt;
use loader::{Bucket, DataSource};
use sqlx::PgPool;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::catalog::Catalog;
use crate::ledger::{self, Observation};
use live::Appender;
use pending::PendingDays;
use watch::{Observer, Signal};

/// What the watcher of one instance needs.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub pool: PgPool,
    /// The sample's minute files: a directory (watched, and listed every `rescan`), or a
    /// bucket (listed every `rescan`: object stores send no notifications).
    pub source: DataSource,
    /// The declared datasets beside the sample, each watched by a task of its own.
    pub catalog: Catalog,
    pub settle: Duration,
    pub rescan: Duration,
    pub live: bool,
    pub max_attempts: i32,
    /// Wakes this process's idle workers when a day is queued.
    pub wake: Arc<Notify>,
    pub shutdown: CancellationToken,
}

/// How often days waiting to settle (and live days a load held up) are looked at.
const TICK: Duration = Duration::from_secs(1);
/// Objects fingerprinted at once after a bucket's listing (each a ranged read).
const FINGERPRINTS_IN_FLIGHT: usize = 64;

/// Watches every dataset's source until shutdown: the sample's here, each declared
/// dataset's in a task of its own (`dataset_watch`), so that none waits for another.
pub async fn run(pipeline: Pipeline) {
    let declared: Vec<_> = pipeline
        .catalog
        .all()
        .iter()
        .filter(|dataset| !dataset.is_sample())
        .map(|dataset| tokio::spawn(dataset_watch::run(pipeline.clone(), Arc::clone(dataset))))
        .collect();
    watch_sample(&pipeline).await;
    for task in declared {
        if let Err(error) = task.await {
            tracing::error!(%error, "a dataset's watcher failed");
        }
    }
}

async fn watch_sample(pipeline: &Pipeline) {
    match &pipeline.source {
        DataSource::Dir(dir) => watch_dir(pipeline, dir).await,
        DataSource::Bucket(bucket) => poll_bucket(pipeline, bucket).await,
    }
}

async fn watch_dir(pipeline: &Pipeline, dir: &Path) {
    // Notifications start before the first listing, so that nothing lands unseen between.
    let (mut watcher, mut signals) = match watch::start(dir) {
        Ok((watcher, signals)) => (Some(watcher), Some(signals)),
        Err(error) => {
            tracing::warn!(%error, dir = %dir.display(),
                "cannot watch the data directory yet; new files are seen by the periodic \
                 listing, and watching is tried again with each");
            (None, None)
        }
    };
    let Some(mut state) = State::start(pipeline).await else {
        return;
    };
    let mut rescan = tokio::time::interval(pipeline.rescan);
    rescan.tick().await; // the first listing was just done
    let mut tick = tokio::time::interval(TICK);
    tracing::info!(dir = %dir.display(), live = pipeline.live, "watching the data directory");
    loop {
        tokio::select! {
            () = pipeline.shutdown.cancelled() => break,
            signal = next(&mut signals) => match signal {
                Some(signal) => state.on_signal(pipeline, signal, signals.as_mut()).await,
                // The watcher stopped: listings only, until one starts it again.
                None => (watcher, signals) = (None, None),
            },
            _ = rescan.tick() => {
                // The directory may exist by now (it is created after the instance starts).
                if watcher.is_none()
                    && let Ok((started, receiver)) = watch::start(dir)
                {
                    tracing::info!(dir = %dir.display(), "watching the data directory");
                    (watcher, signals) = (Some(started), Some(receiver));
                }
                state.rescan(pipeline).await;
            }
            _ = tick.tick() => state.tick(pipeline).await,
        }
    }
}

/// A bucket: a listing every `rescan`, compared with what was seen.
async fn poll_bucket(pipeline: &Pipeline, bucket: &Bucket) {
    let Some(mut state) = State::start(pipeline).await else {
        return;
    };
    let mut rescan = tokio::time::interval(pipeline.rescan);
    rescan.tick().await; // the first listing was just done
    let mut tick = tokio::time::interval(TICK);
    tracing::info!(bucket = bucket.url(), every = ?pipeline.rescan, "listing the bucket");
    loop {
        tokio::select! {
            () = pipeline.shutdown.cancelled() => break,
            _ = rescan.tick() => state.rescan(pipeline).await,
            _ = tick.tick() => state.tick(pipeline).await,
        }
    }
}

async fn next(signals: &mut Option<mpsc::UnboundedReceiver<Signal>>) -> Option<Signal> {
    match signals {
        Some(signals) => signals.recv().await,
        None => std::future::pending().await,
    }
}

struct State {
    observer: Arc<Mutex<Observer>>,
    appender: Appender,
    /// Days that changed and may be due for a job, with when to look at them next.
    pending: PendingDays,
}

impl State {
    /// Starts from the ledger, lists the directory once, and looks at every day the
    /// ledger knows (one may have settled while no instance watched); `None` on shutdown.
    async fn start(pipeline: &Pipeline) -> Option<Self> {
        let (known, strays, days) = loop {
            let read = async {
                Ok::<_, sqlx::Error>((
                    ledger::known(&pipeline.pool).await?,
                    ledger::known_strays(&pipeline.pool).await?,
                    ledger::days(&pipeline.pool).await?,
                ))
            };
            match read.await {
                Ok(read) => break read,
                Err(error) => {
                    tracing::warn!(%error, "cannot read the file ledger; trying again");
                    tokio::select! {
                        () = pipeline.shutdown.cancelled() => return None,
                        () = tokio::time::sleep(Duration::from_secs(2)) => {}
                    }
                }
            }
        };
        let dir = match &pipeline.source {
            DataSource::Dir(dir) => dir.clone(),
            DataSource::Bucket(_) => PathBuf::new(), // an observer of objects reads no path
        };
        let observer = Observer::new(dir, known, strays);
        let mut state = Self {
            observer: Arc::new(Mutex::new(observer)),
            appender: Appender::default(),
            pending: PendingDays::due_now(days),
        };
        state.rescan(pipeline).await;
        Some(state)
    }

    /// Notified paths, with whatever else is queued behind them.
    async fn on_signal(
        &mut self,
        pipeline: &Pipeline,
        first: Signal,
        signals: Option<&mut mpsc::UnboundedReceiver<Signal>>,
    ) {
        let mut paths = Vec::new();
        let mut rescan = false;
        let mut take = |signal| match signal {
            Signal::Changed(path) => paths.push(path),
            Signal::Rescan => rescan = true,
        };
        take(first);
        if let Some(signals) = signals {
            while let Ok(signal) = signals.try_recv() {
                take(signal);
            }
        }
        if rescan {
            return self.rescan(pipeline).await;
        }
        let observer = Arc::clone(&self.observer);
        let seen = tokio::task::spawn_blocking(move || lock(&observer).paths(&paths)).await;
        if let Ok(seen) = seen {
            self.record(pipeline, seen, false).await;
        }
    }

    /// Lists the whole directory or bucket.
    async fn rescan(&mut self, pipeline: &Pipeline) {
        if let DataSource::Bucket(bucket) = &pipeline.source {
            return self.rescan_bucket(pipeline, bucket).await;
        }
        let observer = Arc::clone(&self.observer);
        match tokio::task::spawn_blocking(move || lock(&observer).everything()).await {
            Ok(Ok(seen)) => self.record(pipeline, seen, true).await,
            Ok(Err(error)) => {
                tracing::warn!(%error, source = %pipeline.source, "cannot list the data directory");
            }
            Err(error) => tracing::warn!(%error, "the directory listing failed"),
        }
    }

    /// Lists the bucket, and fingerprints (a ranged read each) what is new or moved.
    async fn rescan_bucket(&mut self, pipeline: &Pipeline, bucket: &Bucket) {
        let listed = match bucket.list_objects().await {
            Ok(listed) => listed,
            Err(error) => return tracing::warn!(%error, "cannot list the bucket"),
        };
        let (changed, mut seen) = lock(&self.observer).objects(listed);
        let fingerprints: Vec<_> = futures::stream::iter(changed)
            .map(|(key, object)| async move {
                let fingerprint = bucket.fingerprint(&object).await;
                (key, object.name, fingerprint)
            })
            .buffer_unordered(FINGERPRINTS_IN_FLIGHT)
            .collect()
            .await;
        for (key, name, fingerprint) in fingerprints {
            match fingerprint {
                Ok(fingerprint) => {
                    seen.push(lock(&self.observer).fingerprinted(key, name, &fingerprint));
                }
                // Looked at again at the next listing.
                Err(error) => tracing::debug!(%error, "cannot fingerprint an object yet"),
            }
        }
        self.record(pipeline, seen, true).await;
    }

    /// Records what was seen, then appends live what waits (of the days seen, or of all
    /// days after a full listing).
    async fn record(&mut self, pipeline: &Pipeline, seen: Vec<Observation>, everything: bool) {
        if !seen.is_empty() {
            if let Err(error) = ledger::record(&pipeline.pool, &seen).await {
                tracing::warn!(%error, "cannot record the files seen; they are looked at again");
                lock(&self.observer).forget(&seen);
                return;
            }
            let now = Instant::now();
            for observation in &seen {
                self.pending
                    .look_at(observation.day(), now + pipeline.settle);
            }
            self.appender.seen(seen.iter().filter_map(|o| match o {
                Observation::Present { key, .. } => Some(*key),
                Observation::Gone { .. } | Observation::Strays { .. } => None,
            }));
        }
        if !pipeline.live || (seen.is_empty() && !everything) {
            return;
        }
        let mut days: Vec<NaiveDate> = seen.iter().map(Observation::day).collect();
        days.sort_unstable();
        days.dedup();
        let days = (!everything).then_some(days.as_slice());
        self.append(pipeline, days).await;
    }

    async fn append(&mut self, pipeline: &Pipeline, days: Option<&[NaiveDate]>) {
        // Live minutes are appended from a directory only (LIVE=on refuses a bucket).
        let DataSource::Dir(dir) = &pipeline.source else {
            return;
        };
        if let Err(error) = self
            .appender
            .append_waiting(&pipeline.pool, dir, days, &pipeline.shutdown)
            .await
        {
            tracing::warn!(%error, "live minutes could not be appended; trying again");
        }
    }

    /// Retries live days a load held up, and decides about the days due.
    async fn tick(&mut self, pipeline: &Pipeline) {
        if pipeline.live {
            let busy = self.appender.take_busy();
            if !busy.is_empty() {
                self.append(pipeline, Some(&busy)).await;
            }
        }
        let (now, due) = self.pending.due();
        for day in due {
            let decision =
                settle::settle_day(&pipeline.pool, day, pipeline.settle, pipeline.max_attempts)
                    .await;
            let about = (loader::SAMPLE_DATASET, day, now);
            self.pending.decided(pipeline, about, decision);
        }
    }
}

/// The observer, also after a panic of a thread that held it (it holds no invariant a
/// panic could break: at worst a file is fingerprinted again).
fn lock(observer: &Mutex<Observer>) -> std::sync::MutexGuard<'_, Observer> {
    observer
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
