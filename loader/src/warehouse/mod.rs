//! What a load writes into: the table and its days, the tables a load fills before its
//! swap, and the rules every phase keeps about them.
//!
//! `table` is a dataset's table and its columns (the sample's is `dwh.data_sample`),
//! `column_type` the PostgreSQL types they may have; `day` is one date of it and the ranges of
//! `create_at` a load works in; `day_lock` lets one load of a day run at a time;
//! `staging` names, creates and cleans up the staging tables (and builds the table's
//! indexes on them, `indexes`); `retired` drops leaves no
//! version keeps; `shrink_guard` refuses a replace that would shrink a day;
//! `partitions` reads back what is loaded.
//!
//! This room is the bottom of the loader: it imports from no other room.

pub(crate) mod column_type;
pub(crate) mod day;
pub(crate) mod day_lock;
pub(crate) mod index_spec;
pub(crate) mod indexes;
pub(crate) mod partitions;
pub(crate) mod retired;
pub(crate) mod shrink_guard;
pub(crate) mod staging;
pub(crate) mod table;
