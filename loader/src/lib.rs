//! Replaces one day of a day-partitioned table from Parquet files, atomically: the built-in
//! sample's `dwh.data_sample` from the generator's minute files ([`load_day`]), or any
//! declared dataset's table from its own files ([`load_dataset_day`], [`Datasets`]).
//!
//! A load streams the day's files over binary `COPY` into staging tables shaped like the
//! day's table, then swaps them in with one short transaction. Readers see the old day or
//! the new day, never a mix; a failed, cancelled or killed load leaves the old day as it
//! was. Start at [`load_day`].
//!
//! # Words
//!
//! - **day**: one date's rows, `[00:00, next day 00:00)` of `create_at`; its source is the
//!   day's **minute files**, `YYYY-MM-DD HH:MM:SS.parquet`. In the database a day is the
//!   **day's table** `dwh.data_sample_pYYYYMMDD`, a partition of `dwh.data_sample`.
//! - **load**: one run of [`load_day`], which replaces a day.
//! - **plan**: how a load divides the day's files. The day is cut into **parts**:
//!   consecutive ranges of `create_at`, cut between whole files. Each part is filled by
//!   one or more **streams** (a COPY connection and the files it copies, in order).
//!   Usually each part has one stream; when the files cannot be cut, the whole day is one
//!   part shared by all streams.
//! - **staging table**: the table a part is copied into, invisible to readers.
//! - **swap**: the one transaction that takes the day's old **leaves** out of the day's
//!   table and attaches the staging tables as its new leaves (one leaf per part).
//! - **version**: what a load (or a rollback) made current. A replace keeps the day's old
//!   leaves as its previous version in schema `dwh_history`, for [`rollback_day`], until
//!   retention ([`Retention`]) drops them.
//! - **audit**: checks of the staging tables before the swap ([`AuditConfig`]); a failed
//!   check of severity `fail` refuses the load.
//! - **leftovers**: staging tables and **retired** leaves (old leaves between the swap and
//!   their drop) left behind by a load that was killed; dropped by whoever next holds the
//!   day's lock, or by [`collect_garbage`].
//!
//! # Rooms
//!
//! A load walks through these rooms, each a folder whose `mod.rs` says what it is for, and
//! `load` runs them in order:
//!
//! - `warehouse`: what is loaded into — the table, its days, the day lock, the staging
//!   tables, retired leaves, the shrink guard, the partitions read back. It imports from
//!   no other room.
//! - `files`: finding and checking the files — where they are (a directory or a bucket),
//!   the day's listing and its judgement, each footer, what of Parquet is read.
//! - `copy`: from checked files to filled staging tables — the plan, the streams side by
//!   side, one stream's reader thread and binary COPY, each batch checked, the names and
//!   the audit's facts counted on the way.
//! - `dataset`: what a dataset is — its declaration, its table made to exist, the
//!   columns schema drift adds.
//! - `publish`: from staging tables to the day readers see — the audit, the swap (with the
//!   caller's check inside it), kept versions and rollback, live minutes.
//!
//! Each room imports only from the rooms above it in this list, and from `error` and
//! `fence`, the words they all use; `settings` holds the flag groups the `loader` and
//! `api` binaries share.
//! `ARCHITECTURE.md` at the workspace root follows one load through them.

mod copy;
mod dataset;
mod error;
mod fence;
mod files;
mod load;
mod publish;
mod settings;
mod warehouse;

pub use copy::names::NameCounts;
pub use copy::progress::LoadProgress;
pub use copy::stream_count::{Streams, StreamsError};
pub use dataset::{
    Dataset, DatasetError, DatasetSettings, Datasets, Due, SchemaDrift, columns_of_files,
    ensure_table, find_columns, find_table,
};
pub use error::{InputError, LoadError, server_unavailable, thousands};
pub use fence::{Fence, FenceFn, Standing};
pub use files::bucket::{Bucket, ListedObject, StorageSettings};
pub use files::day_rule::{Completeness, DayRule};
pub use files::footers::{Fingerprint, fingerprint_file};
pub use files::layout::{Layout, files_in_dir, list_dir_day as list_dataset_day};
pub use files::listing::{
    DayFiles, FilesSummary, list_day, list_days, parse_minute_file, stray_day,
};
pub use files::location::DataSource;
pub use files::pattern::{Cadence, FilePattern};
pub use load::options::LoadOptions;
pub use load::report::{LoadPhases, LoadReport};
pub use load::{load_dataset_day, load_day, load_day_from};
pub use publish::audit::{AuditConfig, AuditConfigError, AuditResult, Check, CheckKind, Severity};
pub use publish::live::{AppendedMinute, append_file, append_minute};
pub use publish::rollback::{RollbackOptions, RollbackReport, rollback_day, rollback_day_of};
pub use publish::swap_check::{SwapCheck, SwapCheckFn, SwapSummary, SwapVerdict};
pub use publish::versions::{
    DayVersion, Retention, list_versions, list_versions_of, prune_versions, prune_versions_of,
};
pub use settings::database::DatabaseSettings;
pub use settings::datasets::{DatasetChoice, DatasetsSettings, dataset_options};
pub use settings::loading::{LoadingSettings, RetentionSettings};
pub use settings::source::SourceSettings;
pub use warehouse::column_type::PgType;
pub use warehouse::day::{MINUTES_PER_DAY, MissingMinutes};
pub use warehouse::index_spec::IndexSpec;
pub use warehouse::partitions::{
    DayStats, PartitionInfo, day_stats, get_partition, get_partition_of, list_partitions,
    list_partitions_of, scan_day_stats,
};
pub use warehouse::staging::{collect_garbage, collect_garbage_of};
pub use warehouse::table::{Column, SAMPLE_DATASET, Table};

/// The schema migrations (`migrations/` at the workspace root), applied by
/// `loader migrate` and by the API at start.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
