//! The caller's last word on a swap: a check run in the swap's transaction just before it
//! commits, which may refuse it (the API records its job's success there, and refuses
//! when the job was given to another worker).

use std::sync::Arc;

use futures::future::BoxFuture;
use sqlx::PgConnection;

use crate::error::LoadError;
use crate::publish::audit::AuditResult;

/// What the caller decides, inside the swap transaction, just before it commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwapVerdict {
    /// Commit: the day is replaced, with whatever the check wrote.
    Commit,
    /// A cancel won: roll back, the day stays as it was.
    Cancelled,
    /// The load may not publish (its job was given to another worker, say): roll back.
    Refused(String),
}

/// What the swap has done when it asks for the verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct SwapSummary {
    pub rows: u64,
    pub files: u64,
    /// Rows the day held before, when it was loaded before.
    pub replaced_rows: Option<i64>,
    /// The day's version the swap makes current.
    pub version: i32,
    /// The audit's results (empty when nothing was audited, as in a rollback).
    pub audits: Vec<AuditResult>,
}

/// The check's signature: it runs on the swap's transaction, so what it writes commits
/// with the day or not at all.
pub type SwapCheckFn = dyn for<'c> Fn(&'c mut PgConnection, SwapSummary) -> BoxFuture<'c, Result<SwapVerdict, sqlx::Error>>
    + Send
    + Sync;

/// A check run in the swap transaction just before it commits (see [`SwapVerdict`]). The
/// API records its job's success there, so that a day is replaced if and only if its job
/// says `succeeded`, also when the connection drops at COMMIT.
#[derive(Clone)]
pub struct SwapCheck(pub Arc<SwapCheckFn>);

impl std::fmt::Debug for SwapCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SwapCheck")
    }
}

/// Asks the policy's check for its verdict; any verdict but Commit is an error, which drops
/// the transaction: the whole swap rolls back.
pub(crate) async fn ask(
    tx: &mut PgConnection,
    check: Option<&SwapCheck>,
    date: chrono::NaiveDate,
    summary: SwapSummary,
) -> Result<(), LoadError> {
    let Some(check) = check else {
        return Ok(());
    };
    match (check.0)(tx, summary).await? {
        SwapVerdict::Commit => Ok(()),
        SwapVerdict::Cancelled => Err(LoadError::Cancelled { date }),
        SwapVerdict::Refused(reason) => Err(LoadError::Fenced { date, reason }),
    }
}
