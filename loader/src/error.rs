//! What can go wrong in a load, with enough detail for a person to fix it: the file, row
//! and column of bad input, and what to do about contention.

use std::fmt;
use std::path::PathBuf;

use chrono::NaiveDate;

use crate::publish::audit::result::AuditResult;
use crate::warehouse::day::MissingMinutes;

/// Where in the source a problem was found. Rows count from 0, like pandas' index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    pub file: PathBuf,
    pub row: Option<u64>,
    pub column: Option<String>,
    pub reason: String,
}

impl InputError {
    pub fn file(file: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            row: None,
            column: None,
            reason: reason.into(),
        }
    }

    pub fn column(mut self, column: &str) -> Self {
        self.column = Some(column.to_owned());
        self
    }

    pub fn row(mut self, row: u64) -> Self {
        self.row = Some(row);
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(row) = self.row {
            write!(f, ", row {row}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column {column}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for InputError {}

/// Why a day was not replaced. In every case the day's previous rows are untouched.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "no source files for {date} in {} (expected names like \"{example}\")",
        dir.display()
    )]
    NoSourceFiles {
        date: NaiveDate,
        dir: PathBuf,
        /// A name the day's files would have (`2023-01-01 00:00:00.parquet`).
        example: String,
    },
    #[error(
        "{date} is incomplete: {} of its {} {unit} have no file ({missing}); load it with \
         allow_partial=true (--allow-partial) to replace the day with the {unit} there are",
        missing.count(), thousands(*slots as u64)
    )]
    DayIncomplete {
        date: NaiveDate,
        missing: MissingMinutes,
        /// Files a whole day has (1,440 minutes, 24 hours).
        slots: usize,
        /// What a slot is called ("minutes", "hours").
        unit: &'static str,
    },
    #[error(
        "{date} is incomplete: {} has no {marker} yet (the producer writes it last, when \
         the day's files are all there); load it with allow_partial=true (--allow-partial) \
         to replace the day with the files there are",
        dir.display()
    )]
    DayUnfinished {
        date: NaiveDate,
        dir: PathBuf,
        marker: String,
    },
    #[error(
        "{date} is ambiguous: these files are named after the day but are not its {what}: \
         {}; move them out of the data directory",
        quoted(files)
    )]
    DayAmbiguous {
        date: NaiveDate,
        files: Vec<String>,
        /// What the day's files are ("minute files", "files").
        what: &'static str,
    },
    #[error(
        "the load would shrink {date} from {} to {} rows (below {percent} % of what it \
         holds); the day is unchanged. Replace it anyway with force=true (--force)",
        thousands(*from), thousands(*to)
    )]
    WouldShrink {
        date: NaiveDate,
        from: u64,
        to: u64,
        percent: u8,
    },
    #[error(
        "the audit refused the load of {date}; the day is unchanged: {}",
        refusals(results)
    )]
    AuditFailed {
        date: NaiveDate,
        /// Every check's result, the passed ones too.
        results: Vec<AuditResult>,
    },
    #[error("version {version} of {date} is not kept (kept: {})", listed(kept))]
    VersionNotKept {
        date: NaiveDate,
        version: i32,
        kept: Vec<i32>,
    },
    #[error("version {version} is {date}'s current version already; nothing to roll back")]
    VersionIsCurrent { date: NaiveDate, version: i32 },
    #[error("dataset {dataset:?}: {message}")]
    DatasetInvalid { dataset: String, message: String },
    #[error(
        "the table {table} is not the dataset's: {}; nothing was loaded (change the table or \
         the declaration so that they agree)",
        differences.join("; ")
    )]
    TableDiffers {
        table: String,
        differences: Vec<String>,
    },
    #[error("cannot read the source directory {}: {source}", dir.display())]
    SourceDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    /// A bucket, or an object in it, could not be read: the store refused (credentials,
    /// permissions), or failed even after retries (`transient`: a later run may succeed).
    #[error("cannot read {url}: {reason}")]
    Storage {
        url: String,
        reason: String,
        transient: bool,
    },
    #[error("invalid input: {0}")]
    InvalidInput(#[from] InputError),
    #[error("another load of {date} is running; try again when it has finished")]
    DayBusy { date: NaiveDate },
    #[error(
        "{date} is locked by a session that is not a load: pid {pid}, role {role:?}, \
         application {application:?} holds the day's advisory lock; loads of the day cannot \
         start until it lets go (SELECT pg_terminate_backend({pid}) ends that session)"
    )]
    DayLockedByOther {
        date: NaiveDate,
        pid: i32,
        role: String,
        application: String,
    },
    #[error(
        "{date} is loaded: its minutes are not appended live any more (a changed file \
         is published by a reload of the day)"
    )]
    DayLoaded { date: NaiveDate },
    #[error("the load of {date} was cancelled; the day is unchanged")]
    Cancelled { date: NaiveDate },
    /// The load lost its right to write (see [`Fence`](crate::Fence) and
    /// [`SwapCheck`](crate::SwapCheck)).
    #[error("the load of {date} was fenced off: {reason}; the day is unchanged")]
    Fenced { date: NaiveDate, reason: String },
    #[error(
        "could not take the locks to swap {date} in after {attempts} attempts (long-running \
         queries on dwh.data_sample?); the day is unchanged"
    )]
    SwapLockTimeout { date: NaiveDate, attempts: u32 },
    #[error(
        "the server stored {stored} rows for {date} but the files hold {expected}; the day is \
         unchanged"
    )]
    RowCountMismatch {
        date: NaiveDate,
        stored: u64,
        expected: u64,
    },
    /// A bucket's day was planned by its objects' names, and this object's footer puts
    /// rows outside the part of the day its name placed it in. [`crate::load_day_from`]
    /// answers it by loading the day again with every footer read first; it does not
    /// return it.
    #[error(
        "{}: its rows are not all of the minute its name says; the day is planned again from \
         every footer",
        .file.display()
    )]
    PlanRefuted { file: PathBuf },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A fault of the loader or of what it runs (a reader thread, the COPY encoder), not of
    /// the input. `context` says what was being done; `source` is the cause, when there is
    /// one.
    #[error("internal error: {context}{}", caused_by(.source.as_deref()))]
    Internal {
        context: String,
        #[source]
        source: Option<BoxError>,
    },
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `2756160` as `2,756,160`. (By hand: ten lines for messages, not worth a dependency.)
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The failed checks of severity `fail`, for the message.
fn refusals(results: &[AuditResult]) -> String {
    let refused: Vec<String> = results
        .iter()
        .filter(|r| r.refuses())
        .map(ToString::to_string)
        .collect();
    refused.join("; ")
}

fn listed(versions: &[i32]) -> String {
    if versions.is_empty() {
        return "none".to_owned();
    }
    let shown: Vec<String> = versions.iter().map(ToString::to_string).collect();
    shown.join(", ")
}

fn quoted(files: &[String]) -> String {
    let quoted: Vec<String> = files.iter().map(|f| format!("{f:?}")).collect();
    quoted.join(", ")
}

fn caused_by(source: Option<&(dyn std::error::Error + Send + Sync + 'static)>) -> String {
    source.map_or_else(String::new, |source| format!(": {source}"))
}

impl LoadError {
    /// An internal error while doing `context`, caused by `source`.
    pub(crate) fn internal(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Internal {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// An internal error with no underlying error to keep.
    pub fn internal_without_source(context: impl Into<String>) -> Self {
        Self::Internal {
            context: context.into(),
            source: None,
        }
    }

    /// The file/row/column of bad input, when the error is about the input.
    pub fn input(&self) -> Option<&InputError> {
        match self {
            Self::InvalidInput(input) => Some(input),
            _ => None,
        }
    }

    /// True when running the same load again later may succeed without anyone fixing the
    /// input: contention, or a database that went away.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::DayBusy { .. } | Self::DayLockedByOther { .. } | Self::SwapLockTimeout { .. } => {
                true
            }
            Self::Storage { transient, .. } => *transient,
            Self::Database(error) => {
                matches!(
                    error,
                    sqlx::Error::Io(_)
                        | sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::WorkerCrashed
                        | sqlx::Error::Protocol(_)
                ) || server_unavailable(error)
            }
            _ => false,
        }
    }
}

/// True when the server reported a connection failure (SQLSTATE class 08) or that it is
/// shutting down or restarting (57P…): an outage, not a fault of the statement.
pub fn server_unavailable(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code.starts_with("08") || code.starts_with("57P"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_keep_their_cause() {
        let cause = std::io::Error::other("the thread panicked");
        let error = LoadError::internal("reading the footers", cause);
        assert_eq!(
            error.to_string(),
            "internal error: reading the footers: the thread panicked"
        );
        let source = std::error::Error::source(&error).expect("a source");
        assert_eq!(source.to_string(), "the thread panicked");
        let bare = LoadError::internal_without_source("the reader stopped");
        assert_eq!(bare.to_string(), "internal error: the reader stopped");
        assert!(std::error::Error::source(&bare).is_none());
    }

    #[test]
    fn counts_are_written_with_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1914), "1,914");
        assert_eq!(thousands(2_756_160), "2,756,160");
        assert_eq!(thousands(100_000), "100,000");
    }

    #[test]
    fn input_errors_name_file_row_and_column() {
        let error = InputError::file("data/a.parquet", "value is too long")
            .row(17)
            .column("product_name");
        assert_eq!(
            error.to_string(),
            "data/a.parquet, row 17, column product_name: value is too long"
        );
    }
}
