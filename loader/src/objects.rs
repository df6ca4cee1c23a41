//! Reading the objects a load checked: every read pinned to the version its check saw, each
//! stream's objects fetched ahead of its reader thread, and storage errors said as a user
//! can act on them (transient, or refused).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore};

use crate::error::{InputError, LoadError};
use crate::source::SourceFile;

/// Objects each COPY stream fetches ahead of its reader thread. A GET's latency (a few
/// milliseconds on loopback, tens against a cloud store) would otherwise be paid once per
/// file, in series; 32 objects of this dataset are about 5 MB.
const OBJECTS_AHEAD: usize = 32;

/// An object a load reads: where it is and the version its check saw.
#[derive(Clone, Debug)]
pub(crate) struct SourceObject {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) location: ObjectPath,
    pub(crate) etag: Option<String>,
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

    /// The whole object, from a reader thread: objects of this dataset are a few hundred
    /// kilobytes, so one request each beats a request per column chunk, and memory stays
    /// bounded by the stream's channel (one object per stream at a time).
    pub(crate) fn read_blocking(&self, display: &Path) -> Result<Bytes, LoadError> {
        tokio::runtime::Handle::current()
            .block_on(self.read(display, None))
            .map(|(bytes, _)| bytes)
    }
}

const CHANGED: &str =
    "changed during the load: its ETag differs from when it was checked; nothing of it was copied";

/// A stream's objects, fetched ahead of its reader thread and handed over in order.
#[derive(Debug)]
pub(crate) struct Prefetched {
    receiver: tokio::sync::mpsc::Receiver<Result<Bytes, LoadError>>,
}

impl Prefetched {
    /// Starts fetching the objects among `files`, in order, [`OBJECTS_AHEAD`] at a time;
    /// `None` when they are files. Dropping the result stops the fetching.
    pub(crate) fn start(files: &[SourceFile]) -> Option<Self> {
        let objects: Vec<(PathBuf, SourceObject)> = files
            .iter()
            .filter_map(|f| Some((f.path.clone(), f.object.clone()?)))
            .collect();
        if objects.is_empty() {
            return None;
        }
        let (sender, receiver) = tokio::sync::mpsc::channel(OBJECTS_AHEAD);
        tokio::spawn(async move {
            let mut fetched = futures::stream::iter(objects)
                .map(|(path, object)| async move {
                    object.read(&path, None).await.map(|(bytes, _)| bytes)
                })
                .buffered(OBJECTS_AHEAD);
            while let Some(result) = fetched.next().await {
                if sender.send(result).await.is_err() {
                    break; // the stream has stopped
                }
            }
        });
        Some(Self { receiver })
    }

    /// The next object's bytes; waits on the calling (reader) thread.
    pub(crate) fn next_blocking(&mut self) -> Result<Bytes, LoadError> {
        self.receiver.blocking_recv().unwrap_or_else(|| {
            Err(LoadError::internal_without_source(
                "the object fetching stopped before the stream's end",
            ))
        })
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
