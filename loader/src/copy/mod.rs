//! Copying: the second phase of a load, from checked files to filled staging tables.
//!
//! `prepare` turns the day's checked files into a `plan` of parts and streams (for a
//! bucket, planned by the objects' names while `ahead` checks their footers during the
//! copy); `all_streams` runs the streams side by side and reports `progress`;
//! `one_stream` copies one stream's files over binary COPY, its reader thread decoding
//! and encoding (`convert` checks and normalises each batch), while `names` and `facts`
//! count what the audit and the day's record need. `stream_count` is how many streams a
//! load may run.
//!
//! This room writes into the staging tables (`warehouse::staging`) and never publishes.

pub(crate) mod ahead;
pub(crate) mod all_streams;
pub(crate) mod convert;
pub(crate) mod facts;
pub(crate) mod names;
pub(crate) mod one_stream;
pub(crate) mod plan;
pub(crate) mod prepare;
pub(crate) mod progress;
pub(crate) mod stream_count;
