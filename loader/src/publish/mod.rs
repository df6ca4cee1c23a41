//! Publishing: the last phase of a load, from filled staging tables to the day readers
//! see (write-audit-publish).
//!
//! `audit` checks the staging tables before anything is visible; `swap` makes them the
//! day's leaves in one short transaction, after `swap_check` lets the caller refuse it,
//! and keeps the replaced leaves as a version (`versions`, with retention);
//! `rollback` swaps a kept version back in; `live` appends one minute file to a day not
//! yet loaded whole.

pub(crate) mod audit;
pub(crate) mod live;
pub(crate) mod rollback;
pub(crate) mod swap;
pub(crate) mod swap_check;
pub(crate) mod versions;
