//! A stream's reader thread: each file (or object) of the stream in order, decoded,
//! checked and encoded as binary COPY rows, sent to the stream's async side.

use std::sync::Arc;

use arrow_schema::SchemaRef;
use bytes::{Bytes, BytesMut};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::file::reader::ChunkReader;
use pgpq::ArrowToPostgresBinaryEncoder;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Message, StreamInput, Tally};
use crate::copy::convert::{BatchOrigin, Target, copy_schema, normalise};
use crate::error::{InputError, LoadError};
use crate::files::footers::{SourceFile, fingerprint, open_regular};
use crate::files::objects::{BATCH_ROWS, Prefetched, RowGroups};
use crate::files::parquet_support;
use crate::warehouse::column_type::PgType;
use crate::warehouse::day::{Day, TimeRange};
use crate::warehouse::table::Table;

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
    day: &Day,
    sender: &Sender,
    cancel: &CancellationToken,
    tally: Tally,
) {
    let result = (|| -> Result<(), LoadError> {
        let mut encoding = Encoding::start(day, tally)?;
        while let Some((file, from)) = feed.next_blocking(cancel)? {
            if cancel.is_cancelled() {
                return Ok(());
            }
            let rows = encoding.file(&file, from)?;
            encoding.tally.file_done(rows);
            let message = Message::File {
                bytes: encoding.take(),
                rows,
                source_bytes: file.bytes,
            };
            if sender.blocking_send(Ok(message)).is_err() {
                return Ok(()); // the COPY side has stopped and reports why
            }
        }
        let (trailer, tally) = encoding.finish()?;
        let _ = sender.blocking_send(Ok(Message::Done {
            trailer,
            tally: Box::new(tally),
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
pub(crate) fn encode_whole_file(file: &SourceFile, day: &Day) -> Result<(Bytes, u64), LoadError> {
    let mut encoding = Encoding::start(day, Tally::new(false, None))?;
    let from = match &file.object {
        Some(object) => Rows::Whole(object.read_blocking(&file.path)?),
        None => Rows::File,
    };
    let rows = encoding.file(file, from)?;
    let (data, _) = encoding.finish()?;
    Ok((data, rows))
}

/// Binary COPY data being written: each batch checked against the day's `bounds`,
/// normalised to the COPY's schema, counted into the tally and encoded.
struct Encoding {
    table: Arc<Table>,
    schema: SchemaRef,
    bounds: TimeRange,
    encoder: ArrowToPostgresBinaryEncoder,
    buffer: BytesMut,
    tally: Tally,
}

impl Encoding {
    /// Starts the data with its header.
    fn start(day: &Day, tally: Tally) -> Result<Self, LoadError> {
        let table = Arc::clone(day.table());
        let schema = copy_schema(&table);
        let mut encoder = encoder_for(&table, &schema)?;
        let mut buffer = BytesMut::with_capacity(512 * 1024);
        encoder.write_header(&mut buffer).map_err(encoder_failed)?;
        Ok(Self {
            table,
            schema,
            bounds: day.range(),
            encoder,
            buffer,
            tally,
        })
    }

    /// The data written since the last take (or the start).
    fn take(&mut self) -> Bytes {
        self.buffer.split().freeze()
    }

    /// Ends the data with its trailer: what is left to send, and the tally.
    fn finish(mut self) -> Result<(Bytes, Tally), LoadError> {
        self.encoder
            .write_footer(&mut self.buffer)
            .map_err(encoder_failed)?;
        Ok((self.take(), self.tally))
    }

    /// Appends the rows of one file (read `from` where its rows are); returns the file's
    /// row count.
    fn file(&mut self, file: &SourceFile, from: Rows) -> Result<u64, LoadError> {
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
            rows = self.batches(file, batches, rows)?;
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

    /// Appends the rows of `batches`, a row group of `file` whose first row is its row
    /// `rows`; returns the file's rows read so far.
    fn batches(
        &mut self,
        file: &SourceFile,
        batches: ParquetRecordBatchReader,
        mut rows: u64,
    ) -> Result<u64, LoadError> {
        let path = &file.path;
        for batch in batches {
            let batch = batch.map_err(|e| {
                let corrupt = format!("corrupt data after row {rows}");
                InputError::file(path, parquet_support::describe(&e, &corrupt))
            })?;
            let origin = BatchOrigin {
                file: path,
                first_row: rows,
                promised: file.create_at_range,
            };
            let target = Target {
                table: &self.table,
                projection: &file.projection,
                schema: &self.schema,
                bounds: self.bounds,
            };
            let normalised = normalise(&batch, &target, &origin)?;
            self.tally.add(&normalised);
            self.encoder
                .write_batch(&normalised, &mut self.buffer)
                .map_err(|e| InputError::file(path, format!("cannot encode rows {rows}..: {e}")))?;
            rows += batch.num_rows() as u64;
        }
        Ok(rows)
    }
}

/// The COPY encoder of `table`'s rows: each column as its Arrow type says, but a jsonb
/// column's text in jsonb's own binary form.
fn encoder_for(
    table: &Table,
    schema: &SchemaRef,
) -> Result<ArrowToPostgresBinaryEncoder, LoadError> {
    use pgpq::encoders::{EncoderBuilder, StringEncoderBuilder};
    use pgpq::pg_schema::PostgresType;
    if !table.columns().iter().any(|c| c.pg_type == PgType::Jsonb) {
        return ArrowToPostgresBinaryEncoder::try_new(schema).map_err(encoder_failed);
    }
    let mut encoders: std::collections::HashMap<String, EncoderBuilder> =
        pgpq::build_encoders(schema.fields())
            .map_err(encoder_failed)?
            .into_iter()
            .collect();
    for (column, field) in table.columns().iter().zip(schema.fields()) {
        if column.pg_type == PgType::Jsonb {
            let builder =
                StringEncoderBuilder::new_with_output(Arc::clone(field), PostgresType::Jsonb)
                    .map_err(encoder_failed)?;
            encoders.insert(column.name.clone(), EncoderBuilder::String(builder));
        }
    }
    ArrowToPostgresBinaryEncoder::try_new_with_encoders(schema, &encoders).map_err(encoder_failed)
}

fn encoder_failed(error: pgpq::error::ErrorKind) -> LoadError {
    LoadError::internal("the COPY encoder failed", error)
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
        .map_err(|e| parquet_support::unreadable(path, &e))
}
