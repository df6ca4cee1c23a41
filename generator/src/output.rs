//! Where a run writes its files: a directory, or a bucket (`s3://bucket/prefix`, `gs://…`,
//! `az://container/prefix`) through the `object_store` crate, with each platform's standard
//! credential variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL`,
//! …).
//!
//! A directory gets each file under a temporary name and a rename; a bucket gets one PUT
//! per file, which object stores make visible whole or not at all.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use dwh_common::bucket::OpenedBucket;
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::error::GenerateError;

/// The files' destination.
#[derive(Clone, Debug)]
pub enum Output {
    Dir(PathBuf),
    Bucket(Arc<Bucket>),
}

impl Output {
    /// `s3://…`, `gs://…` and `az://…` name a bucket; `file:///path` and any other text a
    /// directory.
    pub fn parse(text: &str) -> Result<Self, GenerateError> {
        if let Some(path) = text.strip_prefix("file://") {
            return Ok(Self::Dir(PathBuf::from(path)));
        }
        if text.contains("://") {
            return Bucket::from_url(text).map(|b| Self::Bucket(Arc::new(b)));
        }
        Ok(Self::Dir(PathBuf::from(text)))
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dir(dir) => write!(f, "{}", dir.display()),
            Self::Bucket(bucket) => f.write_str(&bucket.url),
        }
    }
}

/// A bucket and a prefix, with a runtime for the writers' threads to make requests on.
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    url: String,
    runtime: tokio::runtime::Runtime,
}

impl fmt::Debug for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bucket").field("url", &self.url).finish()
    }
}

impl Bucket {
    /// The bucket a URL names; credentials and endpoints from the environment, as the
    /// loader reads them (`dwh_common::bucket`).
    pub fn from_url(url: &str) -> Result<Self, GenerateError> {
        let bad = |reason: String| GenerateError::Bucket {
            url: url.to_owned(),
            reason,
        };
        let OpenedBucket { store, prefix, url } =
            dwh_common::bucket::open(url, None).map_err(bad)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| bad(format!("cannot start the I/O runtime: {e}")))?;
        Ok(Self {
            store,
            prefix,
            url,
            runtime,
        })
    }

    /// The names of the objects right under the prefix (one paged listing).
    pub(crate) fn existing(&self) -> Result<HashSet<String>, GenerateError> {
        let listing = self
            .store
            .list(Some(&self.prefix))
            .try_filter_map(|meta| async move { Ok(meta.location.filename().map(str::to_owned)) });
        self.runtime
            .block_on(listing.try_collect())
            .map_err(|e| GenerateError::Bucket {
                url: self.url.clone(),
                reason: e.to_string(),
            })
    }

    /// Puts one file; called from the writers' threads.
    pub(crate) fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), GenerateError> {
        let key = self.prefix.clone().join(name);
        self.runtime
            .block_on(self.store.put(&key, PutPayload::from(bytes)))
            .map(|_| ())
            .map_err(|e| GenerateError::Bucket {
                url: format!("{}/{name}", self.url.trim_end_matches('/')),
                reason: e.to_string(),
            })
    }
}
