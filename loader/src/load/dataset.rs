//! `load_dataset_day`: a declared dataset's day, its table made to exist first (and
//! widened by schema drift when the dataset adds columns).

use std::sync::Arc;

use chrono::NaiveDate;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::{Target, load_target};
use crate::copy::progress::LoadProgress;
use crate::dataset::{Dataset, ensure_table, widen_for_drift};
use crate::error::LoadError;
use crate::files::layout::list_dir_day;
use crate::files::location::DataSource;
use crate::load::options::LoadOptions;
use crate::load::report::LoadReport;
use crate::warehouse::table::Table;

/// Replaces `date` of `dataset` from its files in `source` (the dataset's own, opened by
/// the caller), as [`load_day`] does the sample's. A declared dataset's table is created
/// when it is missing, from its declared columns or from those of the day's first file;
/// when it exists it must be the dataset's.
pub async fn load_dataset_day(
    pool: &PgPool,
    dataset: &Dataset,
    source: &DataSource,
    date: NaiveDate,
    options: &LoadOptions,
    progress: &(dyn Fn(LoadProgress) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<LoadReport, LoadError> {
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
    if dataset.is_sample() || dataset.columns.is_some() {
        return ensure_table(&mut conn, dataset, None).await;
    }
    match ensure_table(&mut conn, dataset, None).await {
        Err(LoadError::DatasetInvalid { .. }) => {}
        found => return found,
    }
    let DataSource::Dir(dir) = source else {
        return Err(LoadError::DatasetInvalid {
            dataset: dataset.name.clone(),
            message: "its table does not exist yet and its files are in a bucket: declare its                       columns for the first load"
                .to_owned(),
        });
    };
    let (dir, layout) = (dir.clone(), dataset.layout.clone());
    let listed = tokio::task::spawn_blocking(move || list_dir_day(&dir, &layout, date))
        .await
        .map_err(|e| LoadError::internal("listing the directory failed", e))??;
    let first = listed.regular_files()?.into_iter().next();
    ensure_table(&mut conn, dataset, first.as_deref()).await
}
