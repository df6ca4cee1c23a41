//! `loader datasets` and `loader schema`: what the datasets are, and what a dataset's
//! table is or would be made of.

use anyhow::Context;
use chrono::NaiveDate;
use loader::{Completeness, Dataset, Datasets, Layout, SourceSettings};
use sqlx::PgPool;

/// One line per dataset: its name, table, source, file pattern, completeness rule and
/// where its columns come from.
pub(crate) fn print_datasets(datasets: &Datasets) {
    println!(
        "{:<12}  {:<24}  {:<36}  {:<10}  {:<26}  source",
        "dataset", "table", "files", "complete", "columns"
    );
    for dataset in datasets.all() {
        println!(
            "{:<12}  {:<24}  {:<36}  {:<10}  {:<26}  {}",
            dataset.name,
            dataset.table_display(),
            dataset.layout.describe(),
            complete_word(&dataset.layout),
            columns_word(dataset),
            dataset.source
        );
    }
}

fn complete_word(layout: &Layout) -> String {
    match layout.rule().complete {
        Completeness::All => "all".to_owned(),
        Completeness::Any => "any".to_owned(),
        Completeness::Marker(marker) => marker,
    }
}

fn columns_word(dataset: &Dataset) -> String {
    match &dataset.columns {
        Some(columns) => format!("{} declared", columns.len()),
        None => "from the table or files".to_owned(),
    }
}

/// The dataset's columns and the DDL that creates its table, without running it: as
/// declared, as the database has them, or as the first file of `date` has them.
pub(crate) async fn print_schema(
    pool: &PgPool,
    dataset: &Dataset,
    source: &SourceSettings,
    date: Option<NaiveDate>,
) -> anyhow::Result<()> {
    let (columns, from) = match (&dataset.columns, date) {
        (Some(columns), _) => (columns.clone(), "declared".to_owned()),
        (None, Some(date)) => {
            let source = source.open(&dataset.source)?;
            let first = loader::columns_of_files(dataset, &source, date, 1).await?;
            let (path, columns) = first
                .into_iter()
                .next()
                .with_context(|| format!("{date} has no file in {}", dataset.source))?;
            (columns, format!("found in {}", path.display()))
        }
        (None, None) => match loader::find_table(&mut *pool.acquire().await?, dataset).await? {
            Some(table) => (table.columns().to_vec(), "the table's".to_owned()),
            None => anyhow::bail!(
                "dataset {} declares no columns and its table does not exist yet: give \
                 --date to read them from that day's first file",
                dataset.name
            ),
        },
    };
    let table = dataset.table_with(columns).map_err(anyhow::Error::msg)?;
    println!("-- dataset {}: columns {from}", dataset.name);
    println!(
        "-- partitioned by day of {:?}",
        table.partition_column().name
    );
    println!("{}", table.create_statements());
    Ok(())
}
