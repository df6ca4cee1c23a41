//! Progress for people (an indicatif bar on a terminal) and for logs (a `tracing` line
//! every few seconds when stderr is not a terminal).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use generator::FileOutcome;
use indicatif::{ProgressBar, ProgressStyle};

const LOG_EVERY: Duration = Duration::from_secs(5);

pub struct Reporter {
    bar: Option<ProgressBar>,
    total: u64,
    started: Instant,
    files: AtomicU64,
    rows: AtomicU64,
    bytes: AtomicU64,
    last_log: Mutex<Instant>,
}

impl Reporter {
    pub fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let style = ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} files  {msg}  ETA {eta}",
            )
            .expect("the template is valid")
            .progress_chars("=> ");
            ProgressBar::new(total).with_style(style)
        });
        Self {
            bar,
            total,
            started: Instant::now(),
            files: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            last_log: Mutex::new(Instant::now()),
        }
    }

    pub fn file_done(&self, outcome: FileOutcome) {
        let files = self.files.fetch_add(1, Ordering::Relaxed) + 1;
        if let FileOutcome::Written { rows, bytes } = outcome {
            self.rows.fetch_add(rows, Ordering::Relaxed);
            self.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                // Formatting the message for every file would cost more than the bar is worth.
                if files.is_multiple_of(64) {
                    bar.set_message(self.rate());
                }
            }
            None => self.maybe_log(files),
        }
    }

    fn rate(&self) -> String {
        let seconds = self.started.elapsed().as_secs_f64().max(1e-9);
        format!(
            "{} rows  {:.0} MB/s",
            self.rows.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed) as f64 / 1e6 / seconds
        )
    }

    fn maybe_log(&self, files: u64) {
        let Ok(mut last) = self.last_log.try_lock() else {
            return;
        };
        if last.elapsed() >= LOG_EVERY {
            *last = Instant::now();
            tracing::info!(files, total = self.total, progress = %self.rate(), "generating");
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
