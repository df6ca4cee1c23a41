//! The generator as a live source: one minute file per minute of data, each written when
//! its minute is over, at `speed` × real time. A pipeline fed by it sees files arrive as
//! it would from real sensors, with the reference values.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::dataset::Dataset;
use crate::error::GenerateError;
use crate::minute::{MinuteRange, file_name};
use crate::run::{FileOutcome, GenerateSummary, prepare_dir, write_minute};

/// What to write, where, and how fast.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    pub out_dir: PathBuf,
    pub range: MinuteRange,
    pub seed: u64,
    /// Minutes of data per minute of real time: 1 is real time, 60 one file a second.
    pub speed: f64,
    /// Rewrite files that already exist instead of keeping them.
    pub force: bool,
}

/// How long to sleep at most between two looks at the stop flag.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// Writes each minute of `options.range` when it is over: the k-th minute of the range
/// at `k × 60 s / speed` after the start (the first one a minute of data after the
/// start). Each file goes to a temporary name first and is renamed into place, so a
/// reader never sees half a file. A writer that falls behind (a slow disk) writes at once
/// and catches up; it never skips a minute. Setting `stop` ends the run between files.
pub fn generate_live(
    options: &LiveOptions,
    on_file: &(dyn Fn(FileOutcome) + Sync),
    stop: &AtomicBool,
) -> Result<GenerateSummary, GenerateError> {
    let started = Instant::now();
    prepare_dir(&options.out_dir)?;
    let dataset = Dataset::new(options.seed);
    let per_minute = Duration::from_secs_f64(60.0 / options.speed);
    let mut summary = GenerateSummary::default();
    let draws = dataset.draws_from(options.range.first());
    for (k, minute) in (1u32..).zip(draws.take(options.range.len() as usize)) {
        if !sleep_until(started + per_minute * k, stop) {
            summary.interrupted = true;
            break;
        }
        if !options.force && options.out_dir.join(file_name(minute.index)).exists() {
            summary.files_skipped += 1;
            on_file(FileOutcome::Skipped);
            continue;
        }
        let (rows, bytes) = write_minute(&dataset, &options.out_dir, &minute)?;
        summary.files_written += 1;
        summary.rows += rows;
        summary.bytes += bytes;
        on_file(FileOutcome::Written { rows, bytes });
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Sleeps until `deadline`, looking at `stop` every [`STOP_CHECK`]; false when stopped.
fn sleep_until(deadline: Instant, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(STOP_CHECK));
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDateTime;

    use super::*;
    use crate::output::Output;
    use crate::run::{GenerateOptions, generate};

    fn minute(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("minute")
    }

    #[test]
    fn live_files_are_the_batch_files_written_on_schedule() {
        let range = MinuteRange::between(minute("2023-01-01 23:57"), minute("2023-01-02 00:01"))
            .expect("range");
        let (live_dir, batch_dir) = (
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        );
        let live = LiveOptions {
            out_dir: live_dir.path().to_path_buf(),
            range,
            seed: 0,
            speed: 6000.0, // 10 ms per minute of data
            force: false,
        };
        let summary = generate_live(&live, &|_| {}, &AtomicBool::new(false)).expect("live");
        assert_eq!((summary.files_written, summary.interrupted), (5, false));
        // A schedule can be late, never early: the fifth file waits for 5 × 10 ms.
        assert!(
            summary.elapsed >= Duration::from_millis(50),
            "{:?}",
            summary.elapsed
        );
        let batch = GenerateOptions {
            out: Output::Dir(batch_dir.path().to_path_buf()),
            range,
            seed: 0,
            jobs: 1,
            force: false,
        };
        generate(&batch, &|_| {}, &AtomicBool::new(false)).expect("batch");
        for index in range.indices() {
            let name = file_name(index);
            let read =
                |dir: &tempfile::TempDir| std::fs::read(dir.path().join(&name)).expect("file");
            assert_eq!(read(&live_dir), read(&batch_dir), "{name}");
        }
        let leftovers = std::fs::read_dir(live_dir.path()).expect("dir").count();
        assert_eq!(leftovers, 5, "no temporary file is left");
    }

    #[test]
    fn a_stop_ends_the_run_between_files() {
        let dir = tempfile::tempdir().expect("dir");
        let options = LiveOptions {
            out_dir: dir.path().to_path_buf(),
            range: MinuteRange::day(chrono::NaiveDate::from_ymd_opt(2023, 1, 3).expect("date"))
                .expect("day"),
            seed: 0,
            speed: 1.0,
            force: false,
        };
        let summary = generate_live(&options, &|_| {}, &AtomicBool::new(true)).expect("live");
        assert_eq!((summary.files_written, summary.interrupted), (0, true));
    }
}
