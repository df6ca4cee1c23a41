//! Finding and checking the files: the first phase of a load, before any row moves.
//!
//! `location` says where a dataset's files are (a directory or a bucket); `pattern` and
//! `layout` say where a day's files are within it, `day_rule` when the day is whole; `listing`
//! finds a day's files there and judges whether they make the day whole; `footers` checks each
//! file's footer (schema, row count, `create_at` statistics), what `parquet_support`
//! says the loader can read; `bucket` lists and reads footers in object storage, `object` reads one object
//! pinned to its checked version, and `objects` fetches a stream's checked objects row
//! group by row group ahead of the copy.
//!
//! This room knows the warehouse's days and columns (`warehouse::day`, `warehouse::table`)
//! and nothing of how the rows are copied or published.

pub(crate) mod bucket;
pub(crate) mod day_rule;
pub(crate) mod footers;
pub(crate) mod layout;
pub(crate) mod listing;
pub(crate) mod location;
pub(crate) mod object;
pub(crate) mod objects;
pub(crate) mod parquet_support;
pub(crate) mod pattern;
