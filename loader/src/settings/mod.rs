//! Settings the `loader` and `api` binaries share, as groups of flags: each flag with its
//! environment variable, its help and its one default. A binary flattens the groups it
//! needs into its own command line (`#[command(flatten)]`).

pub(crate) mod database;
pub(crate) mod datasets;
pub(crate) mod loading;
pub(crate) mod source;
