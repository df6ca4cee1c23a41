//! Writing a range of minutes: one thread makes the draws in stream order (they are
//! cheap), a pool of workers encodes and writes the files (the expensive part).

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, bounded};

use crate::dataset::{Dataset, MinuteDraws};
use crate::error::GenerateError;
use crate::minute::{MinuteRange, file_name};
use crate::output::Output;
use crate::parquet_file::{encode, remove_stale_temp_files, write_atomically};

/// What to generate and where.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// A directory (created if missing) or a bucket.
    pub out: Output,
    pub range: MinuteRange,
    pub seed: u64,
    /// Encoding threads (at least 1).
    pub jobs: usize,
    /// Rewrite files that already exist instead of keeping them.
    pub force: bool,
}

/// What happened to one minute's file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileOutcome {
    Written {
        rows: u64,
        bytes: u64,
    },
    /// The file existed and `force` was off: kept as it is.
    Skipped,
}

/// Totals of a run.
#[derive(Clone, Debug, Default)]
pub struct GenerateSummary {
    pub files_written: u64,
    pub files_skipped: u64,
    pub rows: u64,
    pub bytes: u64,
    pub elapsed: Duration,
    /// The run was stopped early through its stop flag; every file it wrote is complete.
    pub interrupted: bool,
}

#[derive(Default)]
struct Totals {
    written: AtomicU64,
    skipped: AtomicU64,
    rows: AtomicU64,
    bytes: AtomicU64,
}

/// Writes every minute of `options.range` into `options.out`.
///
/// `on_file` is called once per minute, from any thread. Setting `stop` ends the run after
/// the files in progress are complete; the summary then says `interrupted`.
pub fn generate(
    options: &GenerateOptions,
    on_file: &(dyn Fn(FileOutcome) + Sync),
    stop: &AtomicBool,
) -> Result<GenerateSummary, GenerateError> {
    let started = Instant::now();
    // Names already there, when they are to be kept (a bucket is listed once, not asked
    // for each name).
    let existing = match &options.out {
        Output::Dir(dir) => {
            prepare_dir(dir)?;
            None
        }
        Output::Bucket(bucket) if !options.force => Some(bucket.existing()?),
        Output::Bucket(_) => None,
    };
    let exists = |name: &str| match &options.out {
        Output::Dir(dir) => dir.join(name).exists(),
        Output::Bucket(_) => existing.as_ref().is_some_and(|names| names.contains(name)),
    };
    let dataset = Dataset::new(options.seed);
    let totals = Totals::default();
    let failure: Mutex<Option<GenerateError>> = Mutex::new(None);
    let failed = AtomicBool::new(false);
    let jobs = options.jobs.max(1);

    std::thread::scope(|scope| {
        let (sender, receiver) = bounded::<MinuteDraws>(jobs * 2);
        for _ in 0..jobs {
            let worker = Worker {
                dataset: &dataset,
                out: &options.out,
                totals: &totals,
                on_file,
            };
            let receiver = receiver.clone();
            let (failure, failed) = (&failure, &failed);
            scope.spawn(move || {
                if let Err(error) = worker.run(&receiver, stop) {
                    failed.store(true, Ordering::Relaxed);
                    failure
                        .lock()
                        .expect("no worker panics while holding the lock")
                        .get_or_insert(error);
                }
            });
        }
        drop(receiver);
        let draws = dataset.draws_from(options.range.first());
        for minute in draws.take(options.range.len() as usize) {
            if stop.load(Ordering::Relaxed) || failed.load(Ordering::Relaxed) {
                break;
            }
            if !options.force && exists(&file_name(minute.index)) {
                totals.skipped.fetch_add(1, Ordering::Relaxed);
                on_file(FileOutcome::Skipped);
                continue;
            }
            if sender.send(minute).is_err() {
                break; // every worker has stopped on an error
            }
        }
    });

    if let Some(error) = failure.into_inner().expect("workers have ended") {
        return Err(error);
    }
    Ok(GenerateSummary {
        files_written: totals.written.into_inner(),
        files_skipped: totals.skipped.into_inner(),
        rows: totals.rows.into_inner(),
        bytes: totals.bytes.into_inner(),
        elapsed: started.elapsed(),
        interrupted: stop.load(Ordering::Relaxed),
    })
}

/// Creates `dir` and removes the temporary files a killed run left in it.
pub(crate) fn prepare_dir(dir: &Path) -> Result<(), GenerateError> {
    let create_error = |source| GenerateError::CreateDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(create_error)?;
    let removed = remove_stale_temp_files(dir).map_err(create_error)?;
    if removed > 0 {
        tracing::info!(removed, dir = %dir.display(), "removed unfinished files of an earlier run");
    }
    Ok(())
}

/// Encodes one minute's file and writes it into `dir` atomically; returns its rows and
/// bytes.
pub(crate) fn write_minute(
    dataset: &Dataset,
    dir: &Path,
    minute: &MinuteDraws,
) -> Result<(u64, u64), GenerateError> {
    let (name, rows, bytes) = encode_minute(dataset, minute)?;
    write_atomically(dir, &name, &bytes).map_err(|source| GenerateError::Write {
        path: dir.join(&name),
        source,
    })?;
    Ok((rows, bytes.len() as u64))
}

/// [`write_minute`] to a directory or a bucket.
fn write_minute_to(
    dataset: &Dataset,
    out: &Output,
    minute: &MinuteDraws,
) -> Result<(u64, u64), GenerateError> {
    match out {
        Output::Dir(dir) => write_minute(dataset, dir, minute),
        Output::Bucket(bucket) => {
            let (name, rows, bytes) = encode_minute(dataset, minute)?;
            let size = bytes.len() as u64;
            bucket.put(&name, bytes)?;
            Ok((rows, size))
        }
    }
}

/// One minute's file name, rows and Parquet bytes.
fn encode_minute(
    dataset: &Dataset,
    minute: &MinuteDraws,
) -> Result<(String, u64, Vec<u8>), GenerateError> {
    let name = file_name(minute.index);
    let batch = dataset.record_batch(minute);
    let bytes = encode(&batch, FILE_SIZE_HINT).map_err(|source| GenerateError::Encode {
        name: name.clone(),
        source,
    })?;
    Ok((name, batch.num_rows() as u64, bytes))
}

struct Worker<'a> {
    dataset: &'a Dataset,
    out: &'a Output,
    totals: &'a Totals,
    on_file: &'a (dyn Fn(FileOutcome) + Sync),
}

/// Reference files are ~157 KB; one allocation of this size avoids regrowing the buffer.
const FILE_SIZE_HINT: usize = 192 * 1024;

impl Worker<'_> {
    fn run(&self, minutes: &Receiver<MinuteDraws>, stop: &AtomicBool) -> Result<(), GenerateError> {
        for minute in minutes {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let (rows, bytes) = write_minute_to(self.dataset, self.out, &minute)?;
            self.totals.written.fetch_add(1, Ordering::Relaxed);
            self.totals.rows.fetch_add(rows, Ordering::Relaxed);
            self.totals.bytes.fetch_add(bytes, Ordering::Relaxed);
            (self.on_file)(FileOutcome::Written { rows, bytes });
        }
        Ok(())
    }
}
