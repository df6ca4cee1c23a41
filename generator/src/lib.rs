//! Reproduces the sample sensor-readings dataset: one Parquet file per minute of January
//! 2023, with exactly the values, file names and row order of the reference script.
//!
//! - [`Dataset`] makes the draws; [`Dataset::minute_batch`] gives any minute as an Arrow
//!   batch, which other crates' tests use to build fixtures.
//! - [`generate`] writes a range of minutes in parallel, atomically per file;
//!   [`generate_live`] writes them one by one as their minutes end, at a chosen speed.

pub mod dataset;
mod error;
mod live;
pub mod minute;
mod output;
pub mod parquet_file;
pub mod rng;
mod run;
pub mod schema;

pub use dataset::{Dataset, MinuteDraws};
pub use error::GenerateError;
pub use live::{LiveOptions, generate_live};
pub use minute::{MinuteRange, RangeError};
pub use output::{Bucket, Output};
pub use run::{FileOutcome, GenerateOptions, GenerateSummary, generate};
