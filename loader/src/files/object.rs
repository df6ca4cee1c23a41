//! One object of a bucket as a load reads it: where it is, the version its check saw (every
//! read is pinned to it), its checked footer, and the store's errors said as a user can
//! act on them (the input's fault, transient, or refused).

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore};
use parquet::arrow::arrow_reader::ArrowReaderMetadata;

use crate::error::{InputError, LoadError};

const CHANGED: &str =
    "changed during the load: its ETag differs from when it was checked; nothing of it was copied";

/// An object a load reads: where it is, the version its check saw, and its footer as
/// checked (so that reading it does not fetch the footer again).
#[derive(Clone, Debug)]
pub(crate) struct SourceObject {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) location: ObjectPath,
    pub(crate) etag: Option<String>,
    pub(crate) footer: Option<ArrowReaderMetadata>,
}

impl SourceObject {
    /// The object's bytes (all of them, or `range`), of the version its check saw, and what
    /// the store says of the object.
    pub(crate) async fn read(
        &self,
        display: &Path,
        range: Option<Range<u64>>,
    ) -> Result<(Bytes, ObjectMeta), LoadError> {
        let options = GetOptions {
            if_match: self.etag.clone(),
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self
            .store
            .get_opts(&self.location, options)
            .await
            .map_err(|e| read_failed(display, &e))?;
        let meta = result.meta.clone();
        // A store that ignores If-Match on reads (some S3-compatible servers do) still says
        // which version it sent.
        if let (Some(pinned), Some(sent)) = (&self.etag, &meta.e_tag)
            && pinned != sent
        {
            return Err(InputError::file(display, CHANGED).into());
        }
        let bytes = result.bytes().await.map_err(|e| read_failed(display, &e))?;
        Ok((bytes, meta))
    }

    /// The whole object, waiting on the calling blocking thread (a live minute, read in
    /// one piece).
    pub(crate) fn read_blocking(&self, display: &Path) -> Result<Bytes, LoadError> {
        tokio::runtime::Handle::current()
            .block_on(self.read(display, None))
            .map(|(bytes, _)| bytes)
    }
}

/// The object changed or went (the input's fault: the load fails naming it), or the store
/// failed.
fn read_failed(display: &Path, error: &object_store::Error) -> LoadError {
    let reason = match error {
        object_store::Error::Precondition { .. } | object_store::Error::NotModified { .. } => {
            CHANGED
        }
        object_store::Error::NotFound { .. } => {
            "is gone: it was listed, but the store no longer has it"
        }
        other => return storage_error(display.display().to_string(), other),
    };
    InputError::file(display, reason).into()
}

/// A store's failure, after `object_store`'s own retries of transient errors: a job may
/// still be retried later unless the store refused us.
pub(crate) fn storage_error(url: String, error: &object_store::Error) -> LoadError {
    LoadError::Storage {
        url,
        reason: describe(error),
        transient: !refused(error),
    }
}

/// Whether the store refused us (401, 403): bad credentials or missing permissions, which
/// no retry mends. Reads and writes say so by their variant; a listing's failure arrives as
/// `Generic`, around an HTTP error whose type `object_store` does not export, so its status
/// is read from the words it reports.
fn refused(error: &object_store::Error) -> bool {
    matches!(
        error,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
    ) || {
        let text = error.to_string();
        text.contains("403 Forbidden") || text.contains("401 Unauthorized")
    }
}

/// An error in words a user can act on; never credentials (`object_store` puts none in
/// its messages).
fn describe(error: &object_store::Error) -> String {
    match error {
        _ if refused(error) => {
            format!(
                "access denied ({error}); check the credentials (AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY, or the platform's own) and the bucket's permissions"
            )
        }
        other => other.to_string(),
    }
}
