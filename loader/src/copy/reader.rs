//! A stream's reader thread: each file (or object) of the stream in order, decoded,
//! checked and encoded as binary COPY rows, sent to the stream's async side.

use arrow_schema::SchemaRef;
use bytes::{Bytes, BytesMut};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::file::reader::ChunkReader;
use pgpq::ArrowToPostgresBinaryEncoder;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Message, StreamInput, Tally};
use crate::convert::{BatchOrigin, copy_schema, normalise};
use crate::day::TimeRange;
use crate::error::{InputError, LoadError};
use crate::objects::{BATCH_ROWS, Prefetched, RowGroups};
use crate::source::{SourceFile, fingerprint, open_regular};

impl StreamInput {
    pub(super) fn into_feed(self) -> Feed {
        match self {
            Self::Checked(files) if files.iter().any(|f| f.object.is_some()) => Feed::Objects {
                count: files.len(),
                objects: Prefetched::start(files),
                seen: 0,
            },
            Self::Checked(files) => Feed::Files(files.into_iter()),
            Self::Arriving { objects, count } => Feed::Objects {
                objects,
                count,
                seen: 0,
            },
        }
    }
}

/// Where the reader thread reads a file's rows.
enum Rows {
    /// A local file, opened once it is found to be still what was checked.
    File,
    /// An object's bytes, fetched whole (a live minute).
    Whole(Bytes),
    /// An object read row group by row group.
    RowGroups(Box<RowGroups>),
}

/// The reader thread's side of a [`StreamInput`].
pub(super) enum Feed {
    Files(std::vec::IntoIter<SourceFile>),
    Objects {
        objects: Prefetched,
        count: usize,
        seen: usize,
    },
}

impl Feed {
    /// The next file, and where its rows are; `None` after the last. Reading an object's
    /// row groups stops waiting when `cancel` fires.
    fn next_blocking(
        &mut self,
        cancel: &CancellationToken,
    ) -> Result<Option<(SourceFile, Rows)>, LoadError> {
        match self {
            Self::Files(files) => Ok(files.next().map(|file| (file, Rows::File))),
            Self::Objects {
                objects,
                count,
                seen,
            } => match objects.next_blocking() {
                Some(fetched) => {
                    let (file, groups) = fetched?;
                    *seen += 1;
                    let groups = Box::new(groups.cancelled_by(cancel.clone()));
                    Ok(Some((file, Rows::RowGroups(groups))))
                }
                None if seen == count => Ok(None),
                None => Err(LoadError::internal_without_source(
                    "the object fetching stopped before the stream's end",
                )),
            },
        }
    }
}

pub(super) type Sender = mpsc::Sender<Result<Message, LoadError>>;

/// The reader thread: decodes, validates and encodes each file, in order.
pub(super) fn encode_files(
    mut feed: Feed,
    bounds: TimeRange,
    sender: &Sender,
    cancel: &CancellationToken,
    mut tally: Tally,
) {
    let schema = copy_schema();
    let result = (|| -> Result<(), LoadError> {
        let encoder_failed = |e| LoadError::internal("the COPY encoder failed", e);
        let mut encoder = ArrowToPostgresBinaryEncoder::try_new(&schema).map_err(encoder_failed)?;
        let mut buffer = BytesMut::with_capacity(512 * 1024);
        encoder.write_header(&mut buffer).map_err(encoder_failed)?;
        while let Some((file, from)) = feed.next_blocking(cancel)? {
            if cancel.is_cancelled() {
                return Ok(());
            }
            let rows = encode_file(
                &file,
                from,
                &schema,
                bounds,
                &mut encoder,
                &mut buffer,
                &mut tally,
            )?;
            let message = Message::File {
                bytes: buffer.split().freeze(),
                rows,
                source_bytes: file.bytes,
            };
            if sender.blocking_send(Ok(message)).is_err() {
                return Ok(()); // the COPY side has stopped and reports why
            }
        }
        encoder.write_footer(&mut buffer).map_err(encoder_failed)?;
        let _ = sender.blocking_send(Ok(Message::Done {
            trailer: buffer.split().freeze(),
            tally,
        }));
        Ok(())
    })();
    // A stopped stream reports why itself; what its reader was doing then is no news.
    if let Err(error) = result
        && !cancel.is_cancelled()
    {
        let _ = sender.blocking_send(Err(error));
    }
}

/// The whole binary COPY data (header, rows, trailer) of one file, and its row count:
/// what a live minute sends in one piece (1,914 rows, a few hundred kilobytes).
pub(crate) fn encode_whole_file(
    file: &SourceFile,
    bounds: TimeRange,
) -> Result<(Bytes, u64), LoadError> {
    let schema = copy_schema();
    let encoder_failed = |e| LoadError::internal("the COPY encoder failed", e);
    let mut encoder = ArrowToPostgresBinaryEncoder::try_new(&schema).map_err(encoder_failed)?;
    let mut buffer = BytesMut::with_capacity(512 * 1024);
    let mut tally = Tally::new(false);
    encoder.write_header(&mut buffer).map_err(encoder_failed)?;
    let from = match &file.object {
        Some(object) => Rows::Whole(object.read_blocking(&file.path)?),
        None => Rows::File,
    };
    let rows = encode_file(
        file,
        from,
        &schema,
        bounds,
        &mut encoder,
        &mut buffer,
        &mut tally,
    )?;
    encoder.write_footer(&mut buffer).map_err(encoder_failed)?;
    Ok((buffer.freeze(), rows))
}

/// The file, opened, after checking that it is still what was checked.
fn checked_file(file: &SourceFile) -> Result<std::fs::File, InputError> {
    let handle = open_regular(&file.path)?;
    let now = fingerprint(&handle)
        .map_err(|e| InputError::file(&file.path, format!("cannot read: {e}")))?;
    if now != file.fingerprint {
        return Err(changed_during_the_load(&file.path));
    }
    Ok(handle)
}

fn changed_during_the_load(path: &std::path::Path) -> InputError {
    InputError::file(
        path,
        "changed during the load: its size, modification time or footer differ from when it \
         was checked; nothing of it was copied",
    )
}

fn batch_reader<T: ChunkReader + 'static>(
    path: &std::path::Path,
    input: T,
) -> Result<ParquetRecordBatchReader, InputError> {
    ParquetRecordBatchReaderBuilder::try_new(input)
        .and_then(|b| b.with_batch_size(BATCH_ROWS).build())
        .map_err(|e| InputError::file(path, format!("not a readable Parquet file: {e}")))
}

/// Appends the COPY rows of one file (read `from` where its rows are) to `buffer` and
/// counts them into `tally`; returns the file's row count.
fn encode_file(
    file: &SourceFile,
    from: Rows,
    schema: &SchemaRef,
    bounds: TimeRange,
    encoder: &mut ArrowToPostgresBinaryEncoder,
    buffer: &mut BytesMut,
    tally: &mut Tally,
) -> Result<u64, LoadError> {
    let path = &file.path;
    let mut groups = None;
    let mut reader = match from {
        Rows::File => Some(batch_reader(path, checked_file(file)?)?),
        Rows::Whole(whole) => {
            if !file.fingerprint.matches_bytes(&whole) {
                return Err(changed_during_the_load(path).into());
            }
            Some(batch_reader(path, whole)?)
        }
        Rows::RowGroups(mut rest) => {
            let first = rest.next_blocking(path)?;
            groups = Some(rest);
            first
        }
    };
    let mut rows = 0u64;
    while let Some(batches) = reader.take() {
        rows = encode_batches(file, batches, rows, schema, bounds, encoder, buffer, tally)?;
        if let Some(groups) = &mut groups {
            reader = groups.next_blocking(path)?;
        }
    }
    if rows != file.rows {
        return Err(InputError::file(
            path,
            format!(
                "the footer promises {} rows but {rows} were read",
                file.rows
            ),
        )
        .into());
    }
    Ok(rows)
}

/// Appends the COPY rows of `batches`, a row group of `file` whose first row is its row
/// `rows`, to `buffer`; returns the file's rows read so far.
#[allow(clippy::too_many_arguments)]
fn encode_batches(
    file: &SourceFile,
    batches: ParquetRecordBatchReader,
    mut rows: u64,
    schema: &SchemaRef,
    bounds: TimeRange,
    encoder: &mut ArrowToPostgresBinaryEncoder,
    buffer: &mut BytesMut,
    tally: &mut Tally,
) -> Result<u64, LoadError> {
    let path = &file.path;
    for batch in batches {
        let batch = batch
            .map_err(|e| InputError::file(path, format!("corrupt data after row {rows}: {e}")))?;
        let origin = BatchOrigin {
            file: path,
            first_row: rows,
            promised: file.create_at_range,
        };
        let normalised = normalise(&batch, &file.projection, schema, bounds, &origin)?;
        tally.add(&normalised);
        encoder
            .write_batch(&normalised, buffer)
            .map_err(|e| InputError::file(path, format!("cannot encode rows {rows}..: {e}")))?;
        rows += batch.num_rows() as u64;
    }
    Ok(rows)
}
