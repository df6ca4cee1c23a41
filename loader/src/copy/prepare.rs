//! Before a load copies: the day's files found and judged, their footers checked (or, for
//! a bucket, set to be checked while the COPY runs: `ahead`), and the plan of its streams.

use std::path::Path;

use tokio_util::sync::CancellationToken;

use crate::copy::ahead::{Ahead, plan_ahead};
use crate::copy::one_stream::StreamInput;
use crate::copy::plan::plan;
use crate::copy::progress::Totals;
use crate::copy::stream_count::Streams;
use crate::error::LoadError;
use crate::files::bucket::Bucket;
use crate::files::footers::{SourceFile, inspect};
use crate::files::layout::{Layout, list_dir_day};
use crate::files::listing::DayFiles;
use crate::files::location::DataSource;
use crate::warehouse::day::{Day, MissingMinutes, TimeRange};

/// A load, ready to copy.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// Each part of the day: the range of `create_at` its staging table accepts, and the
    /// inputs of its streams.
    pub parts: Vec<(TimeRange, Vec<StreamInput>)>,
    pub totals: Totals,
    /// The footer checks still to run while the streams copy (a bucket planned by names).
    pub ahead: Option<Ahead>,
    pub missing: MissingMinutes,
    /// What a file of the day is, in the plural, for the audit's words ("minutes").
    pub unit: &'static str,
}

/// Finds the day's files in `source`, judges them, and plans the load. From a bucket
/// with more than one stream, the footers are read while the streams copy (`ahead`);
/// otherwise every footer is checked here, before anything is written.
pub(crate) async fn prepare(
    source: &DataSource,
    layout: &Layout,
    day: &Day,
    streams: Streams,
    allow_partial: bool,
    ahead: bool,
    cancel: &CancellationToken,
) -> Result<Prepared, LoadError> {
    let (date, streams) = (day.date(), streams.get());
    let unit = layout.rule().cadence.map_or("files", |c| c.unit());
    let (files, missing) = match source {
        DataSource::Dir(dir) => inspect_day(dir, layout, day, allow_partial, cancel).await?,
        DataSource::Bucket(bucket) => {
            let listed = tokio::select! {
                () = cancel.cancelled() => return Err(LoadError::Cancelled { date }),
                listed = bucket.list_day_in(layout, date) => listed?,
            };
            let missing = listed.judge(allow_partial)?;
            // Names plan a day only when they say their minute: the sample's.
            if ahead && streams > 1 && matches!(layout, Layout::SampleMinutes) {
                let prepared = checked_during_the_copy(bucket, &listed, missing, streams, day);
                return Ok(Prepared { unit, ..prepared });
            }
            (
                bucket.inspect_day(&listed, day.table(), cancel).await?,
                missing,
            )
        }
    };
    Ok(Prepared {
        unit,
        ..checked_first(files, missing, streams, day)
    })
}

/// A load of a bucket's day whose footers are checked while the streams copy: planned by
/// the objects' names, one stream per part; the rows are known once the last has passed.
fn checked_during_the_copy(
    bucket: &Bucket,
    listed: &DayFiles,
    missing: MissingMinutes,
    streams: usize,
    day: &Day,
) -> Prepared {
    let objects = listed.objects();
    let totals = Totals::rows_unknown(
        objects.len() as u64,
        objects.iter().map(|(_, _, meta)| meta.size).sum(),
    );
    let (parts, ahead) = plan_ahead(bucket, objects, streams, day.range());
    Prepared {
        parts: parts
            .into_iter()
            .map(|(r, input)| (r, vec![input]))
            .collect(),
        totals,
        ahead: Some(ahead),
        missing,
        unit: "files",
    }
}

/// A load whose files' footers were all checked: planned by their statistics.
fn checked_first(
    files: Vec<SourceFile>,
    missing: MissingMinutes,
    streams: usize,
    day: &Day,
) -> Prepared {
    let totals = Totals::known(
        files.len() as u64,
        files.iter().map(|f| f.bytes).sum(),
        files.iter().map(|f| f.rows).sum::<u64>(),
    );
    let parts = plan(files, streams, day.range())
        .into_iter()
        .map(|part| {
            let inputs = part.streams.into_iter().map(StreamInput::Checked);
            (part.range, inputs.collect())
        })
        .collect();
    Prepared {
        parts,
        totals,
        ahead: None,
        missing,
        unit: "files",
    }
}

/// Lists the day's files, judges whether they make the day whole, and checks each one's
/// footer, off the async runtime. Returns the files and the minutes that have none.
///
/// A cancel is answered at once, even while a read is stuck in the kernel (a hung network
/// file system): the thread doing the reads is then left to finish on its own.
async fn inspect_day(
    source_dir: &Path,
    layout: &Layout,
    day: &Day,
    allow_partial: bool,
    cancel: &CancellationToken,
) -> Result<(Vec<SourceFile>, MissingMinutes), LoadError> {
    let dir = source_dir.to_path_buf();
    let (layout, table, date) = (
        layout.clone(),
        std::sync::Arc::clone(day.table()),
        day.date(),
    );
    let inspection = tokio::task::spawn_blocking(move || {
        let listed = list_dir_day(&dir, &layout, date)?;
        let missing = listed.judge(allow_partial)?;
        let files = listed
            .regular_files()?
            .iter()
            .map(|path| inspect(path, &table).map_err(LoadError::from))
            .collect::<Result<_, _>>()?;
        Ok((files, missing))
    });
    tokio::select! {
        () = cancel.cancelled() => Err(LoadError::Cancelled { date }),
        inspected = inspection => {
            inspected.map_err(|e| LoadError::internal("inspecting the files failed", e))?
        }
    }
}
