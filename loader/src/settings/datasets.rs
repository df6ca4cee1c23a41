//! `DATASETS_FILE` and `DATASET`: which datasets a process knows, and which one a command
//! is about.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::copy::stream_count::Streams;
use crate::dataset::{Dataset, DatasetError, Datasets};
use crate::load::options::LoadOptions;
use crate::publish::audit::AuditConfig;
use crate::publish::versions::Retention;

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
            // An empty DATASETS_FILE (compose's default) is no file.
            Some(path) if !path.as_os_str().is_empty() => Datasets::from_file(path, sample_source),
            _ => Ok(Datasets::sample_only(sample_source)),
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

/// `base` (the process's options) with what `dataset` sets for itself: streams, shrink
/// guard, retention, and its own audit file or none (the process's audit is the sample's).
/// The sample takes `base` as it is.
pub fn dataset_options(dataset: &Dataset, base: LoadOptions) -> Result<LoadOptions, DatasetError> {
    if dataset.is_sample() {
        return Ok(base);
    }
    let invalid = |message: String| DatasetError::Invalid {
        dataset: dataset.name.clone(),
        message,
    };
    let settings = &dataset.settings;
    let mut options = base;
    if let Some(streams) = settings.streams {
        options.streams = u8::try_from(streams)
            .ok()
            .and_then(Streams::new)
            .ok_or_else(|| invalid(format!("streams {streams}: 1 to 16")))?;
    }
    if let Some(percent) = settings.shrink_guard_percent {
        options.shrink_guard_percent = percent;
    }
    options.retention = Retention {
        keep: settings.keep_versions.unwrap_or(options.retention.keep),
        max_age: settings
            .keep_versions_hours
            .map_or(options.retention.max_age, |h| Duration::from_secs(h * 3600)),
    };
    options.audits = match &dataset.audits {
        Some(path) => Some(Arc::new(
            AuditConfig::from_file(path).map_err(|e| invalid(e.to_string()))?,
        )),
        None => None,
    };
    Ok(options)
}
