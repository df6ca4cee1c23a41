//! The datasets this service serves: the built-in sample (the default) and those of the
//! datasets file (`DATASETS_FILE`), each with its source opened and its loads' options
//! worked out once at start. Every request about a day names its dataset with the
//! `dataset` query parameter ([`DatasetParam`]); without one it is the sample's, so that
//! the paths and clients of a sample-only service keep working unchanged.

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::{FromRequest, HttpRequest, web};
use anyhow::Context;
use chrono::NaiveDate;
use loader::{DataSource, Dataset, Datasets, DayVersion, LoadOptions, PartitionInfo, Table};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;

use crate::configuration::Settings;
use crate::problem::ApiError;

/// One dataset as the service runs it.
#[derive(Debug)]
pub struct ServedDataset {
    pub dataset: Dataset,
    /// Its directory or bucket, opened.
    pub source: DataSource,
    /// How its loads run (streams, shrink guard, audit, retention): the process's
    /// settings with what the dataset sets for itself; a job adds its own flags.
    pub options: LoadOptions,
}

impl ServedDataset {
    pub fn name(&self) -> &str {
        &self.dataset.name
    }

    pub fn is_sample(&self) -> bool {
        self.dataset.is_sample()
    }

    /// The dataset's table as the database has it; `None` before its first load made it
    /// (nothing is created here: reading a dataset's days creates nothing).
    pub async fn table(&self, pool: &PgPool) -> Result<Option<Arc<Table>>, ApiError> {
        if self.is_sample() {
            return Ok(Some(Arc::new(Table::sample_indexed(
                self.dataset.indexes.clone(),
            ))));
        }
        let mut conn = pool.acquire().await?;
        loader::find_table(&mut conn, &self.dataset)
            .await
            .map_err(|error| ApiError::Internal(error.into()))
    }

    /// Every loaded day of the dataset, oldest first.
    pub async fn partitions(&self, pool: &PgPool) -> Result<Vec<PartitionInfo>, ApiError> {
        match self.table(pool).await? {
            Some(table) => Ok(loader::list_partitions_of(pool, &table).await?),
            None => Ok(Vec::new()),
        }
    }

    /// One loaded day of the dataset, if it was loaded.
    pub async fn partition(
        &self,
        pool: &PgPool,
        date: NaiveDate,
    ) -> Result<Option<PartitionInfo>, ApiError> {
        match self.table(pool).await? {
            Some(table) => Ok(loader::get_partition_of(pool, &table, date).await?),
            None => Ok(None),
        }
    }

    /// The versions of a day of the dataset, newest first.
    pub async fn versions(
        &self,
        pool: &PgPool,
        date: NaiveDate,
    ) -> Result<Vec<DayVersion>, ApiError> {
        match self.table(pool).await? {
            Some(table) => Ok(loader::list_versions_of(pool, &table, date).await?),
            None => Ok(Vec::new()),
        }
    }
}

/// Every dataset served, the sample first.
#[derive(Debug, Clone)]
pub struct Catalog {
    all: Arc<Vec<Arc<ServedDataset>>>,
}

impl Catalog {
    /// The sample (from `DATA_DIR`) and the datasets of `DATASETS_FILE`, each source opened;
    /// a datasets file that does not hold together stops the service from starting.
    pub fn open(settings: &Settings) -> anyhow::Result<Self> {
        let datasets = settings
            .datasets
            .datasets(settings.source.location())
            .context("DATASETS_FILE")?;
        Self::of(&datasets, settings)
    }

    fn of(datasets: &Datasets, settings: &Settings) -> anyhow::Result<Self> {
        let base = LoadOptions {
            streams: settings.loading.streams,
            shrink_guard_percent: settings.loading.shrink_guard_percent,
            audits: settings.loading.audits()?,
            retention: settings.loading.retention.retention(),
            ..LoadOptions::default()
        };
        let mut all = Vec::new();
        for dataset in datasets.all() {
            let source = if dataset.is_sample() {
                settings.source.source().context("DATA_DIR")?
            } else {
                settings
                    .source
                    .open(&dataset.source)
                    .with_context(|| format!("dataset {}: source", dataset.name))?
            };
            let options = loader::dataset_options(dataset, base.clone())?;
            all.push(Arc::new(ServedDataset {
                dataset: dataset.clone(),
                source,
                options,
            }));
        }
        Ok(Self { all: Arc::new(all) })
    }

    /// Every dataset, the sample first.
    pub fn all(&self) -> &[Arc<ServedDataset>] {
        &self.all
    }

    /// The built-in sample, the default dataset.
    pub fn sample(&self) -> &Arc<ServedDataset> {
        &self.all[0]
    }

    /// The dataset called `name`, or a 404 problem naming the known ones.
    pub fn get(&self, name: &str) -> Result<&Arc<ServedDataset>, ApiError> {
        self.all
            .iter()
            .find(|d| d.name() == name)
            .ok_or_else(|| ApiError::UnknownDataset {
                detail: format!(
                    "there is no dataset {name:?}; the datasets are {}",
                    self.names().join(", ")
                ),
                known: self.names(),
            })
    }

    pub fn names(&self) -> Vec<String> {
        self.all.iter().map(|d| d.name().to_owned()).collect()
    }
}

/// The `dataset` query parameter every route about a day takes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DatasetQuery {
    /// The dataset (`GET /datasets` lists them); without it, the built-in `sample`.
    #[param(pattern = r"^[a-z][a-z0-9_]{0,62}$", example = "sample")]
    pub dataset: Option<String>,
}

/// The dataset a request is about, from its `dataset` query parameter (the sample when it
/// has none); an unknown name is a 404 problem naming the known ones.
#[derive(Debug, Clone)]
pub struct DatasetParam(pub Arc<ServedDataset>);

impl DatasetParam {
    /// The dataset named in `query_string`, from `catalog`.
    pub fn from_query(catalog: &Catalog, query_string: &str) -> Result<Self, ApiError> {
        let query = web::Query::<DatasetQuery>::from_query(query_string)
            .map_err(|e| ApiError::InvalidParameter(e.to_string()))?;
        match query.into_inner().dataset {
            None => Ok(Self(Arc::clone(catalog.sample()))),
            Some(name) => catalog.get(&name).map(|d| Self(Arc::clone(d))),
        }
    }
}

impl std::ops::Deref for DatasetParam {
    type Target = ServedDataset;

    fn deref(&self) -> &ServedDataset {
        &self.0
    }
}

impl FromRequest for DatasetParam {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let Some(catalog) = request.app_data::<web::Data<Catalog>>() else {
            return ready(Err(ApiError::Internal(anyhow::anyhow!(
                "the catalog of datasets is not configured"
            ))));
        };
        ready(Self::from_query(catalog, request.query_string()))
    }
}
