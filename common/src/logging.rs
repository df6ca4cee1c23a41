//! Logging through `tracing`, filtered by `RUST_LOG`: colours only when the stream is a
//! terminal (none in a file or a pipe), or one JSON object per line for log collectors.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

/// Where the log lines go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogTo {
    /// A command-line tool's: stdout stays for its results.
    Stderr,
    /// A service's.
    Stdout,
}

/// Sets up the process's logging; `default_filter` applies when `RUST_LOG` is unset. A
/// second call (several apps in one test binary) keeps the first subscriber.
pub fn init(to: LogTo, default_filter: &str, json: bool) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let (writer, terminal) = match to {
        LogTo::Stderr => (
            BoxMakeWriter::new(std::io::stderr),
            std::io::stderr().is_terminal(),
        ),
        LogTo::Stdout => (
            BoxMakeWriter::new(std::io::stdout),
            std::io::stdout().is_terminal(),
        ),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(terminal && !json);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        builder.try_init()
    };
}
