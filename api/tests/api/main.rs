//! The API's integration tests, one binary: the real application on a random port against
//! a fresh database per test (`#[sqlx::test]`), real Parquet files from the generator
//! library, and the real `api` binary where a test kills it.

mod bad_files;
mod bucket;
mod dashboard;
mod dataset_fairness;
mod dataset_rules;
mod dataset_service;
mod datasets;
mod days;
mod fencing;
mod hardening;
mod helpers;
mod housekeeping;
mod idempotency;
mod instances;
mod integrity;
mod jobs;
mod kill;
mod lineage;
mod live_kill;
mod openapi_spec;
mod operations;
mod pipeline;
mod process;
mod reprocess;
mod requests;
mod roles;
mod rollback_kill;
mod run_once;
mod stuck_read;
mod under_load;
mod versions;
