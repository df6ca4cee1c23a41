//! `DATASETS_FILE` and `DATASET`: which datasets a process knows, and which one a command
//! is about.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::copy::stream_count::Streams;
use crate::dataset::{Dataset, DatasetError, Datasets, Due};
use crate::load::options::LoadOptions;
use crate::publish::audit::AuditConfig;
use crate::publish::versions::Retention;
use crate::warehouse::index_spec::IndexSpec;
use crate::warehouse::table::{SAMPLE_DATASET, SAMPLE_INDEXES};

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

    /// The built-in sample's indexes, built on each day before its swap: `;` between them
    /// (`brin (create_at);hash (sensor_serial)`), `none` for none, empty for the default.
    /// A declared dataset lists its own (`indexes`). An index dropped from the list stays
    /// on the table until it is dropped there.
    #[arg(
        long = "sample-indexes",
        env = "SAMPLE_INDEXES",
        global = true,
        value_name = "INDEXES",
        default_value = SAMPLE_INDEXES
    )]
    pub sample_indexes: String,

    /// When a day of the built-in sample must be loaded by, as HH:MM of the next day
    /// (UTC): a day past it and not loaded is late. Unset: never late. A declared dataset
    /// says its own (`due`).
    #[arg(
        long = "sample-due",
        env = "SAMPLE_DUE",
        global = true,
        value_name = "HH:MM"
    )]
    pub sample_due: Option<String>,
}

impl DatasetsSettings {
    /// The sample (reading `sample_source`) and the file's datasets.
    pub fn datasets(&self, sample_source: &str) -> Result<Datasets, DatasetError> {
        let datasets = match &self.datasets_file {
            // An empty DATASETS_FILE (compose's default) is no file.
            Some(path) if !path.as_os_str().is_empty() => Datasets::from_file(path, sample_source)?,
            _ => Datasets::sample_only(sample_source),
        };
        let due = match self.sample_due.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(Due::parse(text).map_err(|message| DatasetError::Invalid {
                dataset: SAMPLE_DATASET.to_owned(),
                message: format!("SAMPLE_DUE: {message}"),
            })?),
        };
        Ok(datasets.with_sample(self.sample_indexes()?, due))
    }

    /// `SAMPLE_INDEXES`, parsed; empty (compose's default) is the default.
    fn sample_indexes(&self) -> Result<Vec<IndexSpec>, DatasetError> {
        let list = match self.sample_indexes.trim() {
            "" => SAMPLE_INDEXES,
            list => list,
        };
        if list.eq_ignore_ascii_case("none") {
            return Ok(Vec::new());
        }
        list.split(';')
            .filter(|text| !text.trim().is_empty())
            .map(IndexSpec::parse)
            .collect::<Result<_, _>>()
            .map_err(|message| DatasetError::Invalid {
                dataset: SAMPLE_DATASET.to_owned(),
                message: format!("SAMPLE_INDEXES: {message}"),
            })
    }
}

/// Which dataset a command is about.
#[derive(Clone, Debug, Args)]
pub struct DatasetChoice {
    /// The dataset (`loader datasets` lists them); the default is the built-in sample.
    #[arg(long, env = "DATASET", default_value = SAMPLE_DATASET)]
    pub dataset: String,
}

impl DatasetChoice {
    /// The chosen dataset among `datasets`.
    pub fn pick<'a>(&self, datasets: &'a Datasets) -> Result<&'a Dataset, DatasetError> {
        datasets.get(&self.dataset)
    }
}

/// `base` (the process's options) with what `dataset` sets for itself: streams, shrink
/// guard, retention, `analyze`, and its own audit file or none (the process's audit is the sample's).
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
    if let Some(analyze) = settings.analyze {
        options.analyze = analyze;
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
