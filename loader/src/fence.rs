//! The fence: a load whose right to write was taken away must not write.
//!
//! A process can be paused mid-load (SIGSTOP, a frozen VM) long enough for its caller to
//! hand the work to someone else; when it wakes up its connections are still open. The
//! caller knows who owns the work, so it supplies the check; the loader asks it on every
//! connection before that connection writes (which lets the caller record the
//! connection, to terminate it when it takes the work back) and, in each stream's
//! transaction, again just before it commits. The swap's own check
//! ([`SwapCheck`](crate::SwapCheck)) fences the last write.

use std::sync::Arc;

use chrono::NaiveDate;
use futures::future::BoxFuture;
use sqlx::PgConnection;

use crate::error::LoadError;

/// Whether the load may still write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Owner,
    /// Someone else owns the work now; the reason is reported in the error.
    Lost(String),
}

/// The check's signature. It runs on the connection about to write, inside its
/// transaction when there is one.
pub type FenceFn = dyn for<'c> Fn(&'c mut PgConnection) -> BoxFuture<'c, Result<Standing, sqlx::Error>>
    + Send
    + Sync;

/// See the module docs.
#[derive(Clone)]
pub struct Fence(pub Arc<FenceFn>);

impl std::fmt::Debug for Fence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fence")
    }
}

/// Asks `fence`, if there is one: [`LoadError::Fenced`] when the load lost its standing.
pub(crate) async fn check(
    fence: Option<&Fence>,
    conn: &mut PgConnection,
    date: NaiveDate,
) -> Result<(), LoadError> {
    let Some(fence) = fence else {
        return Ok(());
    };
    match (fence.0)(conn).await? {
        Standing::Owner => Ok(()),
        Standing::Lost(reason) => Err(LoadError::Fenced { date, reason }),
    }
}
