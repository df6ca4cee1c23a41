//! Reading the objects a load checked: every read pinned to the version its check saw, each
//! stream's objects fetched ahead of its reader thread, and storage errors said as a user
//! can act on them (transient, or refused).

use std::ops::Range;
use std::path::Path;
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

/// Objects of a stream as their checks pass them (or the first error), in order.
pub(crate) type Checked = futures::channel::mpsc::UnboundedReceiver<Result<SourceFile, LoadError>>;

/// A stream's objects, fetched ahead of its reader thread and handed over in order, each
/// with the file its check made of it.
#[derive(Debug)]
pub(crate) struct Prefetched {
    receiver: tokio::sync::mpsc::Receiver<Result<(SourceFile, Bytes), LoadError>>,
}

impl Prefetched {
    /// Starts fetching `files`, objects whose footers were checked before the load, in
    /// order, [`OBJECTS_AHEAD`] at a time. Dropping the result stops the fetching.
    pub(crate) fn start(files: Vec<SourceFile>) -> Self {
        Self::spawn(futures::stream::iter(files.into_iter().map(Ok)))
    }

    /// Starts fetching objects as their checks hand them over, in order: an error among
    /// them is handed on in its place, and ends the stream.
    pub(crate) fn arriving(checked: Checked) -> Self {
        Self::spawn(checked)
    }

    fn spawn(
        files: impl futures::Stream<Item = Result<SourceFile, LoadError>> + Send + 'static,
    ) -> Self {
        let (sender, receiver) = tokio::sync::mpsc::channel(OBJECTS_AHEAD);
        tokio::spawn(async move {
            let mut fetched = std::pin::pin!(files.map(fetch).buffered(OBJECTS_AHEAD));
            while let Some(result) = fetched.next().await {
                let failed = result.is_err();
                if sender.send(result).await.is_err() || failed {
                    break; // the stream has stopped, or it will at this error
                }
            }
        });
        Self { receiver }
    }

    /// The next object and its bytes, waiting on the calling (reader) thread; `None` when
    /// the fetching has ended.
    pub(crate) fn next_blocking(&mut self) -> Option<Result<(SourceFile, Bytes), LoadError>> {
        self.receiver.blocking_recv()
    }
}

/// The whole object a checked file names, of the version its check saw.
async fn fetch(checked: Result<SourceFile, LoadError>) -> Result<(SourceFile, Bytes), LoadError> {
    let file = checked?;
    let object = file.object.as_ref().ok_or_else(|| {
        LoadError::internal_without_source("a file was handed to the object fetching")
    })?;
    let (bytes, _) = object.read(&file.path, None).await?;
    Ok((file, bytes))
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
