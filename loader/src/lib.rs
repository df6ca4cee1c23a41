//! Replaces one day of `dwh.data_sample` from the generator's Parquet files, atomically.
//!
//! A load streams the day's files over binary `COPY` into staging tables shaped like the
//! day's partition, then swaps them in with one short transaction. Readers see the old day
//! or the new day, never a mix; a failed, cancelled or killed load leaves the old day as
//! it was. See [`load_day`].

mod convert;
mod copy;
mod error;
mod load;
pub mod partitions;
mod plan;
pub mod source;
pub mod staging;

pub use error::{InputError, LoadError, server_unavailable};
pub use load::{LoadOptions, LoadProgress, LoadReport, load_day};

/// The schema migrations (`migrations/` at the workspace root), applied by
/// `loader migrate` and by the API at start.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// The warehouse table's columns, in table order, with their VARCHAR limits.
pub mod table {
    /// Fully qualified name of the partitioned table.
    pub const NAME: &str = "dwh.data_sample";
    pub const SCHEMA: &str = "dwh";

    /// A column of `dwh.data_sample` and how the loader accepts it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Kind {
        /// `VARCHAR(n)`: any Arrow string type; at most `n` characters.
        Text { max_chars: usize },
        /// `TIMESTAMP` (without time zone); `required` columns may not be null.
        Timestamp { required: bool },
    }

    pub const COLUMNS: [(&str, Kind); 5] = [
        ("department_name", Kind::Text { max_chars: 32 }),
        ("sensor_serial", Kind::Text { max_chars: 64 }),
        ("create_at", Kind::Timestamp { required: true }),
        ("product_name", Kind::Text { max_chars: 16 }),
        ("product_expire", Kind::Timestamp { required: false }),
    ];

    /// The column that partitions the table by day.
    pub const PARTITION_COLUMN: &str = "create_at";
}
