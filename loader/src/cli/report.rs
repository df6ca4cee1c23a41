//! What `loader load` shows a person: a progress bar on a terminal, one line per day
//! replaced, and with `--timings` where the time went, phase by phase.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use loader::{LoadProgress, LoadReport};

pub(crate) fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {pos}/{len} files  {msg}  ETA {eta}",
    )
    .expect("the template is valid")
    .progress_chars("=> ");
    ProgressBar::new(0).with_style(style)
}

pub(crate) fn show(bar: &ProgressBar, progress: LoadProgress) {
    bar.set_length(progress.files_total);
    bar.set_position(progress.files_done);
    let seconds = bar.elapsed().as_secs_f64().max(1e-9);
    bar.set_message(format!(
        "{}/{} rows  {:.0} MB/s",
        progress.rows_done,
        progress.rows_total,
        progress.bytes_done as f64 / 1e6 / seconds
    ));
}

pub(crate) fn print_report(report: &LoadReport) {
    let seconds = report.elapsed.as_secs_f64();
    println!(
        "{} (version {}): {} files, {} rows, {:.1} MB in {:.2} s ({:.0} rows/s; audit {:.1} ms; swap {} ms{}){}",
        report.date,
        report.version,
        report.files,
        report.rows,
        report.source_bytes as f64 / 1e6,
        seconds,
        report.rows_per_second(),
        report.audit_duration.as_secs_f64() * 1e3,
        report.swap_duration.as_millis(),
        report
            .replaced_rows
            .map_or_else(String::new, |rows| format!(", replaced {rows} rows")),
        if report.missing_minutes.is_empty() {
            String::new()
        } else {
            format!(
                "; partial: {} minutes missing ({})",
                report.missing_minutes.count(),
                report.missing_minutes
            )
        }
    );
    for finding in report.audits.iter().filter(|a| !a.passed) {
        println!("  audit warning: {finding}");
    }
}

/// The process's start-up (from `started`, when `main` began, to `load_began`) and each
/// phase of the load, as one line, in milliseconds; the start-up includes connecting.
pub(crate) fn print_timings(report: &LoadReport, started: Instant, load_began: Instant) {
    let phases = report.phases;
    let ms = |d: Duration| format!("{:.0}", d.as_secs_f64() * 1e3);
    println!(
        "  timings (ms): start-up {}, files and footers {}, lock and staging {}, copy {}, \
         indexes {}, audit {}, swap {}, after the swap {}",
        ms(load_began - started),
        ms(phases.prepare),
        ms(phases.setup),
        ms(report.copy_duration),
        ms(phases.indexes),
        ms(report.audit_duration),
        ms(phases.swap),
        ms(phases.after_swap),
    );
}
