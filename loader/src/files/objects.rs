//! Reading the objects a load checked: row group by row group through Parquet's async
//! reader, each stream's objects fetched ahead of its reader thread (one object's reads
//! are in `object`).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReader};
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStream};
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaData;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::error::{InputError, LoadError};
use crate::files::footers::SourceFile;
use crate::files::object::SourceObject;
use crate::files::parquet_support;

/// Objects each COPY stream fetches ahead of its reader thread. A GET's latency (a few
/// milliseconds on loopback, tens against a cloud store) would otherwise be paid once per
/// file, in series; 32 objects of this dataset are about 5 MB.
const OBJECTS_AHEAD: usize = 32;
/// And at most this many bytes of row groups fetched ahead per stream (in KiB), however
/// large the objects' row groups: a row group larger than this is fetched alone.
const KIB_AHEAD: u32 = 64 * 1024;
/// Rows per decoded batch: a generator file (1,914 rows) is one batch.
pub(crate) const BATCH_ROWS: usize = 8192;

/// A checked object as Parquet's async reader reads it: ranged reads pinned to its checked
/// version, and the checked footer. (Parquet's own `ParquetObjectReader` is built for an
/// older `object_store` than ours.)
struct ObjectChunks {
    object: SourceObject,
    display: PathBuf,
    footer: Arc<ParquetMetaData>,
}

impl AsyncFileReader for ObjectChunks {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            let (bytes, _) = self
                .object
                .read(&self.display, Some(range))
                .await
                .map_err(external)?;
            Ok(bytes)
        }
        .boxed()
    }

    /// One request for all `ranges` (a row group's column chunks lie side by side),
    /// sliced into them.
    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            let start = ranges.iter().map(|r| r.start).min().unwrap_or(0);
            let end = ranges.iter().map(|r| r.end).max().unwrap_or(0);
            let span = self.get_bytes(start..end).await?;
            let slice =
                |r: &Range<u64>| span.slice((r.start - start) as usize..(r.end - start) as usize);
            Ok(ranges.iter().map(slice).collect())
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        futures::future::ready(Ok(self.footer.clone())).boxed()
    }
}

/// A load's error carried through Parquet's reader.
fn external(error: LoadError) -> ParquetError {
    ParquetError::External(Box::new(error))
}

/// One object being read: its first row group fetched, the rest fetched as the reader
/// thread gets to them.
pub(crate) struct RowGroups {
    first: Option<ParquetRecordBatchReader>,
    rest: ParquetRecordBatchStream<ObjectChunks>,
    /// The stream's budget the first row group holds until it is decoded.
    budget: Option<OwnedSemaphorePermit>,
    /// Stops waiting for a row group: the reader thread must not outlive its stream by a
    /// request's retries.
    cancel: CancellationToken,
}

impl RowGroups {
    /// The object's next row group, fetched if need be (waiting on the calling thread);
    /// `None` after the last.
    pub(crate) fn next_blocking(
        &mut self,
        display: &Path,
    ) -> Result<Option<ParquetRecordBatchReader>, LoadError> {
        if let Some(first) = self.first.take() {
            return Ok(Some(first));
        }
        self.budget = None;
        let cancel = self.cancel.clone();
        let next = async {
            tokio::select! {
                () = cancel.cancelled() => Err(LoadError::internal_without_source(
                    "the stream stopped while a row group was being read",
                )),
                group = self.rest.next_row_group() => group.map_err(|e| unreadable(display, e)),
            }
        };
        tokio::runtime::Handle::current().block_on(next)
    }

    /// Stops waiting for row groups once `cancel` fires.
    pub(crate) fn cancelled_by(self, cancel: CancellationToken) -> Self {
        Self { cancel, ..self }
    }
}

impl std::fmt::Debug for RowGroups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowGroups").finish_non_exhaustive()
    }
}

/// A failed read of an object's row groups: the load's own error when a read failed, or
/// what Parquet says of the data.
fn unreadable(display: &Path, error: ParquetError) -> LoadError {
    match error {
        ParquetError::External(cause) => match cause.downcast::<LoadError>() {
            Ok(load) => *load,
            Err(other) => InputError::file(display, format!("cannot read: {other}")).into(),
        },
        other => {
            InputError::file(display, parquet_support::describe(&other, "corrupt data")).into()
        }
    }
}

/// Opens a checked object with Parquet's async reader and fetches its first row group,
/// once the stream's `budget` has room for it.
async fn open(
    file: SourceFile,
    budget: Arc<Semaphore>,
) -> Result<(SourceFile, RowGroups), LoadError> {
    let missing = || LoadError::internal_without_source("an object without its checked footer");
    let object = file.object.clone().ok_or_else(missing)?;
    let footer = object.footer.clone().ok_or_else(missing)?;
    let first_kib = footer
        .metadata()
        .row_groups()
        .first()
        .map_or(0, |g| g.compressed_size().max(0) as u64 / 1024 + 1);
    let permits = u32::try_from(first_kib).unwrap_or(u32::MAX).min(KIB_AHEAD);
    let held = budget
        .acquire_many_owned(permits)
        .await
        .map_err(|e| LoadError::internal("the fetching budget closed", e))?;
    let chunks = ObjectChunks {
        object,
        display: file.path.clone(),
        footer: footer.metadata().clone(),
    };
    let mut rest = ParquetRecordBatchStreamBuilder::new_with_metadata(chunks, footer)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| unreadable(&file.path, e))?;
    let first = rest
        .next_row_group()
        .await
        .map_err(|e| unreadable(&file.path, e))?;
    let groups = RowGroups {
        first,
        rest,
        budget: Some(held),
        cancel: CancellationToken::new(),
    };
    Ok((file, groups))
}

/// Objects of a stream as their checks pass them (or the first error), in order.
pub(crate) type Checked = futures::channel::mpsc::UnboundedReceiver<Result<SourceFile, LoadError>>;

/// A stream's objects, their first row groups fetched ahead of its reader thread, handed
/// over in order, each with the file its check made of it.
#[derive(Debug)]
pub(crate) struct Prefetched {
    receiver: tokio::sync::mpsc::Receiver<Result<(SourceFile, RowGroups), LoadError>>,
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
        let budget = Arc::new(Semaphore::new(KIB_AHEAD as usize));
        tokio::spawn(async move {
            let opened = files.map(move |checked| {
                let budget = budget.clone();
                async move { open(checked?, budget).await }
            });
            let mut fetched = std::pin::pin!(opened.buffered(OBJECTS_AHEAD));
            while let Some(result) = fetched.next().await {
                let failed = result.is_err();
                if sender.send(result).await.is_err() || failed {
                    break; // the stream has stopped, or it will at this error
                }
            }
        });
        Self { receiver }
    }

    /// The next object, its first row group fetched, waiting on the calling (reader)
    /// thread; `None` when the fetching has ended.
    pub(crate) fn next_blocking(&mut self) -> Option<Result<(SourceFile, RowGroups), LoadError>> {
        self.receiver.blocking_recv()
    }
}
