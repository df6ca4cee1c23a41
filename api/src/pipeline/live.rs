//! Live minutes (`LIVE=on`): each minute file of a day neither loaded nor complete is
//! appended to its day as soon as the watcher has recorded it (a complete day is loaded
//! whole). The rows and the ledger row that says
//! "appended" are written in one transaction, so that a crash, a kill or a restart can
//! neither lose a minute (its row still waits) nor double it (its row says it is done).

use std::path::Path;

use chrono::NaiveDate;
use loader::LoadError;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::appends::{Appended, Appends};
use crate::ledger::{self, MinuteKey, Unloaded};

/// The live appender of one instance.
pub type Appender = Appends<MinuteKey>;

impl Appender {
    /// Appends every waiting file of `days` (of every day when `None`), in order, until
    /// `stop` (a shutdown: what is left waits in the ledger); returns how many were
    /// appended.
    pub async fn append_waiting(
        &mut self,
        pool: &PgPool,
        dir: &Path,
        days: Option<&[NaiveDate]>,
        stop: &CancellationToken,
    ) -> Result<usize, sqlx::Error> {
        let mut appended = 0;
        for file in ledger::unloaded(pool, days).await? {
            if stop.is_cancelled() {
                break;
            }
            let key = (file.day, file.minute);
            if !self.should_try(file.day, &key) {
                continue;
            }
            let outcome = append(pool, dir, &file).await?;
            if self.note(file.day, key, outcome) {
                appended += 1;
            }
        }
        Ok(appended)
    }
}

/// Appends one file with its ledger row, in one transaction.
async fn append(pool: &PgPool, dir: &Path, file: &Unloaded) -> Result<Appended, sqlx::Error> {
    let key = (file.day, file.minute);
    let mut tx = pool.begin().await?;
    if !ledger::claim_for_append(&mut tx, key).await? {
        return Ok(Appended::Skipped);
    }
    let path = dir.join(&file.name);
    match loader::append_minute(&mut tx, &path, file.day).await {
        Ok(minute) => {
            let fingerprint = minute.fingerprint.footer_hex();
            ledger::appended_live(&mut tx, key, &fingerprint, minute.rows).await?;
            tx.commit().await?;
            tracing::debug!(file = %file.name, rows = minute.rows, "appended a live minute");
            Ok(Appended::Done)
        }
        Err(LoadError::DayBusy { .. }) => Ok(Appended::Busy),
        Err(LoadError::DayLoaded { .. }) => Ok(Appended::Skipped),
        Err(LoadError::Database(error)) => Err(error),
        Err(error) => {
            let source = loader::DataSource::Dir(dir.to_path_buf());
            let error = crate::intake::without_data_dir(&error.to_string(), &source);
            tracing::warn!(%error, "a minute file was not appended live; it is tried again when it changes");
            Ok(Appended::Refused)
        }
    }
}
