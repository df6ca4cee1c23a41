//! Live files of a declared dataset (`live = true` in its declaration): each file of a day
//! neither loaded nor whole is appended to the day's live leaf as soon as the watcher has
//! recorded it, an hour's or a part's file as the sample's minute is (`live`). The rows
//! and the ledger row that says "appended" are written in one transaction: a crash or a
//! restart can neither lose a file (its row still waits) nor double it.

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use loader::{DataSource, LoadError, Table};
use sqlx::{PgConnection, PgPool};

use super::appends::{Appended, Appends};
use crate::catalog::ServedDataset;
use crate::ledger::dataset_files::{self, WaitingFile};

/// The live appender of one dataset in one instance; a file is named by its day and path.
pub type DatasetAppender = Appends<(NaiveDate, String)>;

impl DatasetAppender {
    /// Appends every waiting file of `dataset`, in order; returns how many were appended.
    pub async fn append_waiting(
        &mut self,
        pool: &PgPool,
        dataset: &ServedDataset,
        whole_at: Option<i64>,
    ) -> Result<usize, sqlx::Error> {
        let DataSource::Dir(dir) = &dataset.source else {
            return Ok(0); // refused by the declaration: a bucket's days load whole
        };
        let mut appended = 0;
        for file in dataset_files::waiting_for_append(pool, dataset.name(), whole_at).await? {
            let key = (file.day, file.path.clone());
            if !self.should_try(file.day, &key) {
                continue;
            }
            let outcome = append(pool, dataset, dir, &file).await?;
            if self.note(file.day, key, outcome) {
                appended += 1;
            }
        }
        Ok(appended)
    }
}

/// Appends one file with its ledger row, in one transaction.
async fn append(
    pool: &PgPool,
    dataset: &ServedDataset,
    dir: &Path,
    file: &WaitingFile,
) -> Result<Appended, sqlx::Error> {
    let mut tx = pool.begin().await?;
    if !dataset_files::claim_for_append(&mut tx, dataset.name(), file).await? {
        return Ok(Appended::Skipped);
    }
    let path = dir.join(&file.path);
    let appended = match table_of(&mut tx, dataset, file.day).await {
        Ok(table) => loader::append_file(&mut tx, &table, &path, file.day).await,
        Err(error) => Err(error),
    };
    match appended {
        Ok(done) => {
            let fingerprint = done.fingerprint.footer_hex();
            dataset_files::appended_live(&mut tx, dataset.name(), file, &fingerprint, done.rows)
                .await?;
            tx.commit().await?;
            tracing::debug!(
                dataset = dataset.name(),
                file = file.path,
                rows = done.rows,
                "appended a live file"
            );
            Ok(Appended::Done)
        }
        Err(LoadError::DayBusy { .. }) => Ok(Appended::Busy),
        Err(LoadError::DayLoaded { .. }) => Ok(Appended::Skipped),
        Err(LoadError::Database(error)) => Err(error),
        Err(error) => {
            let error = crate::intake::without_data_dir(&error.to_string(), &dataset.source);
            tracing::warn!(%error, dataset = dataset.name(),
                "a file was not appended live; it is tried again when it changes");
            Ok(Appended::Refused)
        }
    }
}

/// The dataset's table, made to exist (from its declared columns, or the day's first
/// file's) in the append's transaction.
async fn table_of(
    conn: &mut PgConnection,
    dataset: &ServedDataset,
    day: NaiveDate,
) -> Result<Arc<Table>, LoadError> {
    if let Some(table) = loader::find_table(conn, &dataset.dataset).await? {
        return Ok(table);
    }
    let found = match dataset.dataset.columns {
        Some(_) => None,
        None => loader::columns_of_files(&dataset.dataset, &dataset.source, day, 1)
            .await?
            .into_iter()
            .next()
            .map(|(_, columns)| columns),
    };
    loader::ensure_table(conn, &dataset.dataset, found).await
}
