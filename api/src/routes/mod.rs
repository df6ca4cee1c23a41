//! HTTP handlers, one module per resource.

pub mod backfill;
pub mod days;
pub mod event_schemas;
pub mod events;
pub mod health;
pub mod jobs;
pub mod new_jobs;
pub mod partitions;
pub mod versions;

pub use health::{healthz, metrics, readyz};
