//! Fixtures shared by the `loader` and `api` test suites: real Parquet files made by the
//! generator library, bad files made to order ([`files`]), a real S3-compatible server
//! ([`s3`]), the deployment's database roles ([`roles`]), and plain-SQL looks at what
//! readers of the warehouse see ([`warehouse`]). The queries never go through the library
//! under test, so a test checks the loader against PostgreSQL, not against itself.

pub mod files;
pub mod roles;
pub mod s3;
pub mod warehouse;

pub use files::*;
pub use warehouse::*;
