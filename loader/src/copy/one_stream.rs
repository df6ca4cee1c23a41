//! The fast path: Parquet batches → normalised Arrow → PostgreSQL binary COPY rows.
//!
//! Each COPY stream has a reader thread (decode, validate, encode: CPU-bound, blocking; in
//! `one_stream/reader.rs`) feeding a bounded channel, and an async side, here, that forwards the
//! encoded bytes to the server. Memory is bounded by the channel's capacity, whatever the
//! day's size.

use bytes::Bytes;
use chrono::NaiveDate;
use sqlx::postgres::PgCopyIn;
use sqlx::{Connection, Executor, PgConnection, PgPool};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::copy::facts::{Facts, FactsPlan};
use crate::copy::names::DistinctNames;
use crate::error::LoadError;
use crate::fence::{self, Fence};
use crate::files::footers::SourceFile;
use crate::files::objects::Prefetched;
use crate::warehouse::day::Day;
use crate::warehouse::staging::StagingTable;

mod reader;

use reader::encode_files;
pub(crate) use reader::encode_whole_file;

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
    Done { trailer: Bytes, tally: Box<Tally> },
}

/// What every stream of a load does alike.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamSettings<'a> {
    /// Analyze an owned table before committing it.
    pub analyze: bool,
    pub fence: Option<&'a Fence>,
    /// What the audit judges, to be counted (only when there is an audit: it costs a look
    /// at every row).
    pub facts: Option<&'a FactsPlan>,
}

/// What a stream stored.
#[derive(Debug)]
pub(crate) struct StreamCopied {
    /// Rows the server stored.
    pub rows: u64,
    pub tally: Tally,
}

/// What a stream counts as its rows go by: the sample's distinct names (kept with the
/// day) and, when there is an audit, the facts it judges.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub names: Option<DistinctNames>,
    pub facts: Option<Facts>,
}

impl Tally {
    pub(crate) fn new(names: bool, facts: Option<&FactsPlan>) -> Self {
        Self {
            names: names.then(DistinctNames::default),
            facts: facts.map(Facts::new),
        }
    }

    /// Counts a file's rows, for the audit.
    fn file_done(&mut self, rows: u64) {
        if let Some(facts) = &mut self.facts {
            facts.per_file.push(i64::try_from(rows).unwrap_or(i64::MAX));
        }
    }

    fn add(&mut self, batch: &arrow_array::RecordBatch) {
        if let Some(names) = &mut self.names {
            names.add(batch);
        }
        if let Some(facts) = &mut self.facts {
            facts.add(batch);
        }
    }

    /// Adds another stream's counts.
    pub(crate) fn merge(&mut self, other: Self) {
        match (&mut self.names, other.names) {
            (Some(names), Some(other)) => names.merge(other),
            (None, other) => self.names = other,
            (Some(_), None) => {}
        }
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
    /// `count` objects checked while the load runs, each handed over with its first row
    /// group once its footer passed, before any of its rows is copied.
    Arriving { objects: Prefetched, count: usize },
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
    let date = day.date();
    let (sender, mut receiver) = mpsc::channel(CHANNEL_CAPACITY);
    let reader_cancel = cancel.child_token();
    let reader = {
        let cancel = reader_cancel.clone();
        let feed = input.into_feed();
        let tally = Tally::new(day.table().is_sample(), settings.facts);
        let day = day.clone();
        tokio::task::spawn_blocking(move || encode_files(feed, &day, &sender, &cancel, tally))
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
        day.table().column_list(),
        if owned { ", FREEZE" } else { "" }
    );
    let copy = tx.copy_in_raw(&statement).await?;
    let (copy, tally) = forward(copy, &mut receiver, reader, on_file, cancel, date).await?;
    let rows = copy.finish().await?;
    if owned && settings.analyze {
        tx.execute(format!("ANALYZE {}", table.qualified_name()).as_str())
            .await?;
    }
    fence::check(settings.fence, &mut tx, date).await?;
    tx.commit().await?;
    Ok(StreamCopied { rows, tally })
}

/// Sends the reader thread's encoded files into `copy` as they arrive, until its Done
/// message (whose counts it returns), its error, or the cancel.
async fn forward<'c>(
    mut copy: PgCopyIn<&'c mut PgConnection>,
    receiver: &mut mpsc::Receiver<Result<Message, LoadError>>,
    reader: JoinHandle<()>,
    on_file: &(dyn Fn(FileDone) + Send + Sync),
    cancel: &CancellationToken,
    date: NaiveDate,
) -> Result<(PgCopyIn<&'c mut PgConnection>, Tally), LoadError> {
    loop {
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
                return Ok((copy, *tally));
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
    }
}
