//! `load_dataset_day`: a declared dataset's day, its table made to exist first (and
//! widened by schema drift when the dataset adds columns).

use std::sync::Arc;

use chrono::NaiveDate;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::{Target, load_target};
use crate::copy::progress::LoadProgress;
use crate::dataset::{Dataset, columns_of_files, ensure_table, find_table, widen_for_drift};
use crate::error::LoadError;
use crate::files::layout::Layout;
use crate::files::location::DataSource;
use crate::load::options::LoadOptions;
use crate::load::report::LoadReport;
use crate::warehouse::table::Table;

/// Replaces `date` of `dataset` from its files in `source` (the dataset's own, opened by
/// the caller), as [`load_day`] does the sample's (the sample too, with the indexes
/// `dataset` gives it). A declared dataset's table is created when it is missing, from its
/// declared columns or from those of the day's first file; when it exists it must be the
/// dataset's.
pub async fn load_dataset_day(
    pool: &PgPool,
    dataset: &Dataset,
    source: &DataSource,
    date: NaiveDate,
    options: &LoadOptions,
    progress: &(dyn Fn(LoadProgress) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<LoadReport, LoadError> {
    if dataset.is_sample() {
        let table = Arc::new(Table::sample_indexed(dataset.indexes.clone()));
        let target = Target {
            source,
            layout: &Layout::SampleMinutes,
            table,
        };
        return load_target(pool, &target, date, options, progress, cancel).await;
    }
    let table = dataset_table(pool, dataset, source, date).await?;
    let table = widen_for_drift(table, dataset, source, date).await?;
    let target = Target {
        source,
        layout: &dataset.layout,
        table,
    };
    load_target(pool, &target, date, options, progress, cancel).await
}

/// The dataset's table, made to exist (see [`ensure_table`]); the first file of the day
/// is read only when the table is missing and no columns are declared.
async fn dataset_table(
    pool: &PgPool,
    dataset: &Dataset,
    source: &DataSource,
    date: NaiveDate,
) -> Result<Arc<Table>, LoadError> {
    let mut conn = pool.acquire().await?;
    if let Some(table) = find_table(&mut conn, dataset).await? {
        return Ok(table);
    }
    let found = match &dataset.columns {
        Some(_) => None,
        None => {
            let first = columns_of_files(dataset, source, date, 1).await?;
            first.into_iter().next().map(|(_, columns)| columns)
        }
    };
    ensure_table(&mut conn, dataset, found).await
}
