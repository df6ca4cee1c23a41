//! The fast path: Parquet batches → normalised Arrow → PostgreSQL binary COPY rows.
//!
//! Each COPY stream has a reader thread (decode, validate, encode: CPU-bound, blocking)
//! feeding a bounded channel, and an async side that forwards the encoded bytes to the
//! server. Memory is bounded by the channel's capacity, whatever the day's size.

use arrow_schema::SchemaRef;
use bytes::{Bytes, BytesMut};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::file::reader::ChunkReader;
use pgpq::ArrowToPostgresBinaryEncoder;
use sqlx::{Connection, Executor, PgPool};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::audit::Facts;
use crate::convert::{BatchOrigin, copy_schema, normalise};
use crate::day::{Day, TimeRange};
use crate::error::{InputError, LoadError};
use crate::fence::{self, Fence};
use crate::names::DistinctNames;
use crate::objects::{BATCH_ROWS, Prefetched, RowGroups};
use crate::source::{SourceFile, fingerprint, open_regular};
use crate::staging::StagingTable;
use crate::table;

/// Encoded chunks in flight per stream; with ~300 KB per file this bounds a stream's
/// buffers to a few megabytes.
const CHANNEL_CAPACITY: usize = 8;

/// What a reader thread sends: one file's encoded rows, or the end of its stream.
enum Message {
    File {
        bytes: Bytes,
        rows: u64,
        source_bytes: u64,
    },
    /// All files sent; `trailer` ends the COPY data. Without this message the stream is
    /// incomplete, however the channel closed.
    Done { trailer: Bytes, tally: Tally },
}

/// What every stream of a load does alike.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamSettings<'a> {
    /// Analyze an owned table before committing it.
    pub analyze: bool,
    pub fence: Option<&'a Fence>,
    /// Count the facts the audit judges (only when there is an audit: they cost a look
    /// at every row).
    pub audit: bool,
}

/// What a stream stored.
#[derive(Debug)]
pub(crate) struct StreamCopied {
    /// Rows the server stored.
    pub rows: u64,
    pub tally: Tally,
}

/// What a stream counts as its rows go by: the distinct names (kept with the day) and,
/// when there is an audit, the facts it judges.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub names: DistinctNames,
    pub facts: Option<Facts>,
}

impl Tally {
    pub(crate) fn new(audit: bool) -> Self {
        Self {
            names: DistinctNames::default(),
            facts: audit.then(Facts::default),
        }
    }

    fn add(&mut self, batch: &arrow_array::RecordBatch) {
        self.names.add(batch);
        if let Some(facts) = &mut self.facts {
            facts.add(batch);
        }
    }

    /// Adds another stream's counts.
    pub(crate) fn merge(&mut self, other: Self) {
        self.names.merge(other.names);
        match (&mut self.facts, other.facts) {
            (Some(facts), Some(other)) => facts.merge(other),
            (None, other) => self.facts = other,
            (Some(_), None) => {}
        }
    }
}

/// What one stream copies, in order.
#[derive(Debug)]
pub(crate) enum StreamInput {
    /// Files or objects whose footers were all checked before the load began.
    Checked(Vec<SourceFile>),
    /// `count` objects checked while the load runs, each handed over with its bytes once
    /// its footer passed, before any of its rows is copied.
    Arriving { objects: Prefetched, count: usize },
}

impl StreamInput {
    fn into_feed(self) -> Feed {
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
enum Feed {
    Files(std::vec::IntoIter<SourceFile>),
    Objects {
        objects: Prefetched,
        count: usize,
        seen: usize,
    },
}

impl Feed {
    /// The next file, and where its rows are; `None` after the last.
    fn next_blocking(&mut self) -> Result<Option<(SourceFile, Rows)>, LoadError> {
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
                    Ok(Some((file, Rows::RowGroups(Box::new(groups)))))
                }
                None if seen == count => Ok(None),
                None => Err(LoadError::internal_without_source(
                    "the object fetching stopped before the stream's end",
                )),
            },
        }
    }
}

/// Running totals a stream reports after each file.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FileDone {
    pub rows: u64,
    pub source_bytes: u64,
}

/// One stream: copies its `input`, in order, into `table` over one connection, checking every
/// row against `day`, in one transaction. Unless the table is shared, the stream creates
/// it in that transaction and copies with FREEZE (rows frozen and all-visible), then
/// analyzes it when asked to. The fence is asked before the connection writes and again
/// before the commit.
pub(crate) async fn copy_stream(
    pool: &PgPool,
    table: &StagingTable,
    input: StreamInput,
    day: &Day,
    settings: StreamSettings<'_>,
    on_file: &(dyn Fn(FileDone) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<StreamCopied, LoadError> {
    let (date, bounds) = (day.date(), day.range());
    let (sender, mut receiver) = mpsc::channel(CHANNEL_CAPACITY);
    let reader_cancel = cancel.child_token();
    let reader = {
        let cancel = reader_cancel.clone();
        let feed = input.into_feed();
        let tally = Tally::new(settings.audit);
        tokio::task::spawn_blocking(move || encode_files(feed, bounds, &sender, &cancel, tally))
    };
    // Stops the reader thread on every early return below.
    let _stop_reader = reader_cancel.drop_guard();

    let mut conn = pool.acquire().await?;
    if settings.fence.is_some() {
        // The fence's owner may terminate this session if it takes the work back: it must
        // not go back to the pool, where another load could be using it by then.
        conn.close_on_drop();
    }
    fence::check(settings.fence, &mut conn, date).await?;
    let mut tx = conn.begin().await?;
    // The stream's commit need not wait for its WAL to reach the disk: the swap commits
    // synchronously later, and flushing its commit record flushes these rows too (WAL is
    // flushed in order). A crash before the swap loses only a staging table nobody sees.
    tx.execute("SET LOCAL synchronous_commit = off").await?;
    let owned = !table.is_shared();
    if owned {
        tx.execute(table.create_statement().as_str()).await?;
    }
    let statement = format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary{})",
        table.qualified_name(),
        table::column_list(),
        if owned { ", FREEZE" } else { "" }
    );
    let mut copy = tx.copy_in_raw(&statement).await?;
    let tally = loop {
        let message = tokio::select! {
            () = cancel.cancelled() => {
                copy.abort("load cancelled").await.ok();
                return Err(LoadError::Cancelled { date });
            }
            message = receiver.recv() => message,
        };
        match message {
            Some(Ok(Message::File {
                bytes,
                rows,
                source_bytes,
            })) => {
                copy.send(bytes).await?;
                on_file(FileDone { rows, source_bytes });
            }
            Some(Ok(Message::Done { trailer, tally })) => {
                copy.send(trailer).await?;
                break tally;
            }
            Some(Err(error)) => {
                copy.abort(error.to_string()).await.ok();
                return Err(error);
            }
            None => {
                copy.abort("reader stopped").await.ok();
                // A reader stopped by the cancel ends without its Done message; the
                // channel may report that before the cancel is seen above.
                if cancel.is_cancelled() {
                    return Err(LoadError::Cancelled { date });
                }
                return Err(match reader.await {
                    Err(join) => LoadError::internal("the reader thread failed", join),
                    Ok(()) => LoadError::internal_without_source(
                        "the reader thread stopped before the end",
                    ),
                });
            }
        }
    };
    let rows = copy.finish().await?;
    if owned && settings.analyze {
        tx.execute(format!("ANALYZE {}", table.qualified_name()).as_str())
            .await?;
    }
    fence::check(settings.fence, &mut tx, date).await?;
    tx.commit().await?;
    Ok(StreamCopied { rows, tally })
}

type Sender = mpsc::Sender<Result<Message, LoadError>>;

/// The reader thread: decodes, validates and encodes each file, in order.
fn encode_files(
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
        while let Some((file, from)) = feed.next_blocking()? {
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
    if let Err(error) = result {
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
