//! A day from a bucket, its footers checked while the COPY runs.
//!
//! Reading a day's 1,440 footers before the first row moves costs a request's latency
//! 1,440 times, 128 at a time: 0.6 s from an S3 server on loopback, a third of the load,
//! with PostgreSQL idle. So a day from a bucket is planned by its objects' names
//! (`plan::plan_by_names`), and each stream's footers are read ahead of it while it
//! copies. The rules do not change: an object is fetched, and its rows copied, only after
//! its footer passed, pinned to the ETag the listing saw.
//!
//! A footer whose `create_at` range lies outside the part its name placed it in refutes
//! the plan ([`LoadError::PlanRefuted`]); the load then starts again with every footer
//! read first, and planned by them.

use std::path::PathBuf;

use futures::StreamExt;
use futures::channel::mpsc::{UnboundedSender, unbounded};
use object_store::ObjectMeta;

use crate::copy::one_stream::StreamInput;
use crate::copy::plan::plan_by_names;
use crate::error::LoadError;
use crate::files::bucket::Bucket;
use crate::files::footers::SourceFile;
use crate::files::objects::Prefetched;
use crate::warehouse::day::TimeRange;
use crate::warehouse::table::Table;

/// Footers each stream reads at once, ahead of its COPY.
const FOOTERS_AHEAD: usize = 64;

/// The footer checks of a day planned by names, one sequence per part.
#[derive(Debug)]
pub(crate) struct Ahead {
    bucket: Bucket,
    parts: Vec<PartChecks>,
}

#[derive(Debug)]
struct PartChecks {
    range: TimeRange,
    objects: Vec<(PathBuf, ObjectMeta)>,
    /// To the part's stream: each object once its footer passed, or the error that ends it.
    checked: UnboundedSender<Result<SourceFile, LoadError>>,
}

/// Plans a day by its objects' names (`objects`: as [`crate::files::listing::DayFiles::objects`] lists them)
/// into up to `streams` parts: each part's range of `create_at` and the input of its one
/// stream, and the checks that feed them.
pub(crate) fn plan_ahead(
    bucket: &Bucket,
    objects: Vec<(u16, PathBuf, ObjectMeta)>,
    streams: usize,
    day: TimeRange,
) -> (Vec<(TimeRange, StreamInput)>, Ahead) {
    let items = objects
        .into_iter()
        .map(|(minute, display, meta)| (minute, meta.size, (display, meta)))
        .collect();
    let (inputs, parts) = plan_by_names(items, streams, day)
        .into_iter()
        .map(|(range, objects)| {
            let (checked, arriving) = unbounded();
            let input = StreamInput::Arriving {
                count: objects.len(),
                objects: Prefetched::arriving(arriving),
            };
            let checks = PartChecks {
                range,
                objects,
                checked,
            };
            ((range, input), checks)
        })
        .unzip();
    let ahead = Ahead {
        bucket: bucket.clone(),
        parts,
    };
    (inputs, ahead)
}

impl Ahead {
    /// Reads and checks every footer, each part's in order, handing each passed file to its
    /// stream. Returns the day's rows once all passed; `None` when one did not (its stream
    /// reports why) or a stream stopped taking them.
    pub(crate) async fn run(self) -> Option<u64> {
        let bucket = &self.bucket;
        let parts = self.parts.into_iter().map(|part| part.run(bucket));
        futures::future::join_all(parts).await.into_iter().sum()
    }
}

impl PartChecks {
    async fn run(self, bucket: &Bucket) -> Option<u64> {
        let range = self.range;
        // Only the sample's minute files are planned by their names.
        let sample = Table::sample();
        let mut checks = futures::stream::iter(self.objects)
            .map(|(display, meta)| bucket.inspect(display, meta, &sample))
            .buffered(FOOTERS_AHEAD);
        let mut rows = 0;
        while let Some(checked) = checks.next().await {
            let checked = checked.and_then(|file| within(file, range));
            let passed = checked.as_ref().map(|file| file.rows).ok();
            if self.checked.unbounded_send(checked).is_err() {
                return None;
            }
            rows += passed?;
        }
        Some(rows)
    }
}

/// The file, if its footer puts its rows inside the part `range`.
fn within(file: SourceFile, range: TimeRange) -> Result<SourceFile, LoadError> {
    match file.create_at_range {
        _ if file.rows == 0 => Ok(file),
        Some((first, last)) if range.start_us <= first && last < range.end_us => Ok(file),
        _ => Err(LoadError::PlanRefuted { file: file.path }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::footers::Fingerprint;

    fn file(rows: u64, create_at_range: Option<(i64, i64)>) -> SourceFile {
        SourceFile {
            path: "s3://b/2023-01-01 00:10:00.parquet".into(),
            rows,
            bytes: 1,
            projection: vec![Some(0), Some(1), Some(2), Some(3), Some(4)],
            create_at_range,
            fingerprint: Fingerprint::of_size(1),
            object: None,
        }
    }

    #[test]
    fn a_footer_outside_its_part_refutes_the_plan() {
        let part = TimeRange {
            start_us: 100,
            end_us: 200,
        };
        assert!(within(file(5, Some((100, 199))), part).is_ok());
        assert!(within(file(0, None), part).is_ok());
        for outside in [Some((99, 150)), Some((150, 200)), None] {
            let error = within(file(5, outside), part).expect_err("outside its part");
            assert!(matches!(error, LoadError::PlanRefuted { .. }), "{error}");
            assert_eq!(
                error.to_string(),
                "s3://b/2023-01-01 00:10:00.parquet: its rows are not all of the minute its \
                 name says; the day is planned again from every footer"
            );
        }
    }
}
