//! The loader's integration tests, one binary: `load_day` against the real PostgreSQL
//! (a fresh database per test) and real Parquet files from the generator library.

mod bucket;
mod compat;
mod datasets;
mod failures;
mod helpers;
mod integrity;
mod live;
mod parts;
mod query_ready;
mod readers;
mod replace;
mod roles;
mod sample_indexes;
mod statistics;
mod validation;
mod versions;
