//! Schema drift with `add_columns`: before a load plans, every file of the day is asked
//! for its columns, and those the table lacks are added to this load's table (nullable),
//! so that the staging tables have them and the swap adds them to the table, in its one
//! transaction: readers see the new day with its new columns, or the old day without.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;

use super::schema::columns_of;
use super::{Dataset, SchemaDrift};
use crate::error::LoadError;
use crate::files::layout::list_dir_day;
use crate::files::location::DataSource;
use crate::warehouse::table::{Column, Table};

/// `table`, with the columns the day's files have and it lacks when the dataset adds
/// them; `table` itself otherwise (a file's unknown column then fails its check, naming
/// both).
pub(crate) async fn widen_for_drift(
    table: Arc<Table>,
    dataset: &Dataset,
    source: &DataSource,
    date: NaiveDate,
) -> Result<Arc<Table>, LoadError> {
    if dataset.schema_drift != SchemaDrift::AddColumns {
        return Ok(table);
    }
    let mut new: Vec<Column> = Vec::new();
    for (path, columns) in columns_of_files(dataset, source, date, usize::MAX).await? {
        for column in columns {
            let known = table
                .columns()
                .iter()
                .chain(&new)
                .any(|c| c.name == column.name);
            if !known {
                tracing::info!(
                    dataset = %dataset.name, file = %path.display(), column = %column.name,
                    "a new column: the swap adds it to the table"
                );
                new.push(column);
            }
        }
    }
    if new.is_empty() {
        return Ok(table);
    }
    Ok(Arc::new(table.with_added(new)))
}

/// The first `files` files of the day (in the order of their slots), each with its
/// columns, from their footers.
pub async fn columns_of_files(
    dataset: &Dataset,
    source: &DataSource,
    date: NaiveDate,
    files: usize,
) -> Result<Vec<(PathBuf, Vec<Column>)>, LoadError> {
    let mut found = Vec::new();
    match source {
        DataSource::Dir(dir) => {
            let (dir, layout) = (dir.clone(), dataset.layout.clone());
            let listed = tokio::task::spawn_blocking(move || {
                let listed = list_dir_day(&dir, &layout, date)?;
                listed
                    .regular_files()?
                    .into_iter()
                    .take(files)
                    .map(|path| {
                        let columns = super::find_columns(&path)?;
                        Ok((path, columns))
                    })
                    .collect::<Result<Vec<_>, LoadError>>()
            });
            found = listed
                .await
                .map_err(|e| LoadError::internal("reading the files' columns failed", e))??;
        }
        DataSource::Bucket(bucket) => {
            let listed = bucket.list_day_in(&dataset.layout, date).await?;
            for (_, display, meta) in listed.objects().into_iter().take(files) {
                let schema = bucket.schema_of(&display, &meta).await?;
                let columns = columns_of(&schema, &display)?;
                found.push((display, columns));
            }
        }
    }
    Ok(found)
}
