//! A bucket from its URL: `s3://bucket/prefix`, `gs://bucket/prefix` or
//! `az://container/prefix`, through the `object_store` crate, with each platform's
//! standard credential variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`).

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, RetryConfig};

/// A bucket's store, the prefix in it, and its URL as messages show it (never
/// credentials).
#[derive(Debug)]
pub struct OpenedBucket {
    pub store: Arc<dyn ObjectStore>,
    pub prefix: ObjectPath,
    /// `scheme://bucket/prefix`.
    pub url: String,
}

/// Opens the bucket `url` names; `retry`: how its requests are retried (`None`: the
/// store's defaults). The error says why in words, for the caller to wrap.
pub fn open(url: &str, retry: Option<RetryConfig>) -> Result<OpenedBucket, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    crate::tls::install_crypto_provider();
    let retry = retry.unwrap_or_default();
    let built = match parsed.scheme() {
        "s3" | "s3a" => s3_from_env()
            .with_url(url)
            .with_retry(retry)
            .build()
            .map(|s| Arc::new(s) as Arc<dyn ObjectStore>),
        "gs" => GoogleCloudStorageBuilder::from_env()
            .with_url(url)
            .with_retry(retry)
            .build()
            .map(|s| Arc::new(s) as Arc<dyn ObjectStore>),
        "az" | "azure" | "abfs" | "abfss" => MicrosoftAzureBuilder::from_env()
            .with_url(url)
            .with_retry(retry)
            .build()
            .map(|s| Arc::new(s) as Arc<dyn ObjectStore>),
        other => {
            return Err(format!(
                "unknown scheme {other}:// (accepted: s3://, gs://, az://, file://, or a path)"
            ));
        }
    };
    let store = built.map_err(|e| e.to_string())?;
    let prefix =
        ObjectPath::from_url_path(parsed.path()).map_err(|e| format!("bad prefix: {e}"))?;
    let host = parsed.host_str().unwrap_or_default();
    let url = format!("{}://{host}/{prefix}", parsed.scheme());
    Ok(OpenedBucket { store, prefix, url })
}

/// `AmazonS3Builder::from_env`, except that a variable set to an empty value counts as
/// unset: Compose passes `${AWS_ACCESS_KEY_ID:-}` on as an empty value, and an empty key
/// would hide the platform's own credentials (an instance or task role).
fn s3_from_env() -> AmazonS3Builder {
    std::env::vars()
        .filter(|(key, value)| key.starts_with("AWS_") && !value.is_empty())
        .filter_map(|(key, value)| Some((key.to_ascii_lowercase().parse().ok()?, value)))
        .fold(AmazonS3Builder::new(), |builder, (key, value)| {
            builder.with_config(key, value)
        })
}
