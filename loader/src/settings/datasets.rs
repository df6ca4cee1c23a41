//! `DATASETS_FILE` and `DATASET`: which datasets a process knows, and which one a command
//! is about.

use std::path::PathBuf;

use clap::Args;

use crate::dataset::{Dataset, DatasetError, Datasets};

/// The datasets file.
#[derive(Clone, Debug, Args)]
pub struct DatasetsSettings {
    /// The datasets file (TOML, one `[[dataset]]` entry each): tables, sources, file
    /// patterns, completeness rules and columns of datasets beside the built-in sample.
    /// Unset: only the sample.
    #[arg(
        long = "datasets",
        env = "DATASETS_FILE",
        global = true,
        value_name = "FILE"
    )]
    pub datasets_file: Option<PathBuf>,
}

impl DatasetsSettings {
    /// The sample (reading `sample_source`) and the file's datasets.
    pub fn datasets(&self, sample_source: &str) -> Result<Datasets, DatasetError> {
        match &self.datasets_file {
            Some(path) => Datasets::from_file(path, sample_source),
            None => Ok(Datasets::sample_only(sample_source)),
        }
    }
}

/// Which dataset a command is about.
#[derive(Clone, Debug, Args)]
pub struct DatasetChoice {
    /// The dataset (`loader datasets` lists them); the default is the built-in sample.
    #[arg(long, env = "DATASET", default_value = crate::warehouse::table::SAMPLE_DATASET)]
    pub dataset: String,
}

impl DatasetChoice {
    /// The chosen dataset among `datasets`.
    pub fn pick<'a>(&self, datasets: &'a Datasets) -> Result<&'a Dataset, DatasetError> {
        datasets.get(&self.dataset)
    }
}
