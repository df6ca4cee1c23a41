//! `DATA_DIR` / `DATA_URL` and `STORAGE_RETRY_SECS`: where a day's files are, and how
//! patiently a bucket is read.

use std::time::Duration;

use clap::Args;

use crate::error::LoadError;
use crate::files::bucket::StorageSettings;
use crate::files::location::DataSource;

/// Where the files are.
#[derive(Clone, Debug, Args)]
pub struct SourceSettings {
    /// Where the generator's Parquet files are (`YYYY-MM-DD HH:MM:SS.parquet`): a
    /// directory (a path or `file:///path`), or a bucket: `s3://bucket/prefix`, `gs://…`,
    /// `az://container/prefix`, with the platform's standard credential variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL`, …).
    #[arg(long, env = "DATA_DIR", default_value = "data")]
    pub data_dir: String,

    /// Another name for DATA_DIR, which reads better for a bucket; when given, it is the
    /// one used (an image that sets DATA_DIR can still be pointed at a bucket).
    #[arg(long, env = "DATA_URL")]
    pub data_url: Option<String>,

    /// How long a request to a bucket is retried on transient errors (5xx, throttling,
    /// timeouts) before the load fails, in seconds.
    #[arg(long, env = "STORAGE_RETRY_SECS", default_value_t = StorageSettings::default().retry_timeout.as_secs())]
    pub storage_retry_secs: u64,
}

impl SourceSettings {
    /// `DATA_URL` if given, else `DATA_DIR`.
    pub fn location(&self) -> &str {
        self.data_url.as_deref().unwrap_or(&self.data_dir)
    }

    /// The location names a bucket, not a directory.
    pub fn reads_a_bucket(&self) -> bool {
        DataSource::names_a_bucket(self.location())
    }

    /// The directory or bucket the location names (a bucket's client is built here, from
    /// the environment's credentials).
    pub fn source(&self) -> Result<DataSource, LoadError> {
        self.open(self.location())
    }

    /// The directory or bucket `location` names (a dataset's own source), read as
    /// patiently as these settings say.
    pub fn open(&self, location: &str) -> Result<DataSource, LoadError> {
        let storage = StorageSettings {
            retry_timeout: Duration::from_secs(self.storage_retry_secs),
            ..StorageSettings::default()
        };
        DataSource::parse(location, storage)
    }
}
