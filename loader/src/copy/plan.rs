//! The plan of a load: the day's parts, and the streams that fill each one.
//!
//! Two COPYs into one table contend for its extension lock (PostgreSQL 15 grows a heap a
//! page at a time); two COPYs into two tables do not, and measured ~20 % faster here. So
//! when the files' footers tell where their `create_at` values lie, the day is cut into
//! parts with no file straddling a cut, and each part has one stream and a staging table
//! of its own, which becomes one leaf of the day. Files without usable statistics, or
//! whose ranges overlap too much to be cut, make the whole day one part, shared by all
//! the streams.

use crate::files::footers::SourceFile;
use crate::warehouse::day::TimeRange;

/// A part of the day: the range of `create_at` its staging table accepts, and the files
/// each of its streams copies into it (in order, one COPY connection per stream).
#[derive(Debug)]
pub(crate) struct Part {
    pub range: TimeRange,
    pub streams: Vec<Vec<SourceFile>>,
}

/// Plans `streams` COPY streams over `files` (sorted by name) for the day `day`.
pub(crate) fn plan(files: Vec<SourceFile>, streams: usize, day: TimeRange) -> Vec<Part> {
    let streams = streams.clamp(1, files.len().max(1));
    if streams == 1 {
        return vec![Part {
            range: day,
            streams: vec![files],
        }];
    }
    match cut_into_parts(&files, streams, day) {
        Some(parts) => parts,
        None => vec![Part {
            range: day,
            streams: split_into_streams(files, streams),
        }],
    }
}

/// Cuts the day into up to `streams` parts of about equal bytes, each holding whole
/// files; `None` when fewer than two parts are possible.
fn cut_into_parts(files: &[SourceFile], streams: usize, day: TimeRange) -> Option<Vec<Part>> {
    let (empty, mut ranged): (Vec<&SourceFile>, Vec<&SourceFile>) =
        files.iter().partition(|f| f.rows == 0);
    if ranged.iter().any(|f| f.create_at_range.is_none()) {
        return None;
    }
    let range = |f: &SourceFile| f.create_at_range.expect("checked above");
    ranged.sort_by_key(|f| range(f)); // stable: equal ranges keep name order
    let cuts = choose_cuts(&ranged, streams, day, range);
    if cuts.is_empty() {
        return None;
    }
    let mut bounds = vec![0];
    bounds.extend(&cuts);
    bounds.push(ranged.len());
    if !balanced(&ranged, &bounds, streams) {
        return None;
    }
    let parts = bounds
        .windows(2)
        .enumerate()
        .map(|(k, w)| {
            let start = if k == 0 {
                day.start_us
            } else {
                range(ranged[w[0]]).0
            };
            let end = if w[1] == ranged.len() {
                day.end_us
            } else {
                range(ranged[w[1]]).0
            };
            let mut stream: Vec<SourceFile> =
                ranged[w[0]..w[1]].iter().map(|&f| f.clone()).collect();
            if k == 0 {
                stream.extend(empty.iter().map(|&f| f.clone()));
            }
            Part {
                range: TimeRange {
                    start_us: start,
                    end_us: end,
                },
                streams: vec![stream],
            }
        })
        .collect();
    Some(parts)
}

/// Plans a day whose footers are not read yet by its files' names: up to `streams` parts
/// of consecutive minutes with about equal bytes, each accepting the `create_at` range its
/// minutes name (the first from the day's start, the last to its end). `items` are
/// `(minute of the day, bytes, item)` in minute order.
///
/// Only a guess that the file of minute `m` holds rows of minute `m`: each file's footer
/// must still show that its rows lie in its part before any of them is copied.
pub(crate) fn plan_by_names<T>(
    items: Vec<(u16, u64, T)>,
    streams: usize,
    day: TimeRange,
) -> Vec<(TimeRange, Vec<T>)> {
    let streams = streams.clamp(1, items.len().max(1));
    let share = items
        .iter()
        .map(|i| i.1)
        .sum::<u64>()
        .div_ceil(streams as u64);
    let mut parts: Vec<(i64, Vec<T>)> = Vec::new();
    let mut in_part = 0u64;
    for (minute, bytes, item) in items {
        if parts.is_empty() || (in_part >= share && parts.len() < streams) {
            let start = day.start_us + i64::from(minute) * MINUTE_US;
            parts.push((
                if parts.is_empty() {
                    day.start_us
                } else {
                    start
                },
                Vec::new(),
            ));
            in_part = 0;
        }
        in_part += bytes;
        parts.last_mut().expect("pushed above").1.push(item);
    }
    let ends: Vec<i64> = parts
        .iter()
        .skip(1)
        .map(|p| p.0)
        .chain([day.end_us])
        .collect();
    parts
        .into_iter()
        .zip(ends)
        .map(|((start_us, items), end_us)| (TimeRange { start_us, end_us }, items))
        .collect()
}

const MINUTE_US: i64 = 60_000_000;

/// Whether no part holds more than 1.5 fair shares of the bytes. A lopsided cut loses to
/// sharing one table: a stream alone with most of the day runs at one COPY's speed, slower
/// than two streams contending for one table (measured 1.38–1.44 s against 1.02–1.22 s).
fn balanced(ranged: &[&SourceFile], bounds: &[usize], streams: usize) -> bool {
    let bytes = |files: &[&SourceFile]| files.iter().map(|f| f.bytes).sum::<u64>();
    let limit = bytes(ranged) * 3 / (2 * streams as u64);
    bounds
        .windows(2)
        .all(|w| bytes(&ranged[w[0]..w[1]]) <= limit)
}

/// Indices `i` (ascending) at which to cut `ranged` (sorted by range) so that every file
/// before `i` ends strictly before file `i` starts, nearest to equal shares of bytes.
fn choose_cuts(
    ranged: &[&SourceFile],
    streams: usize,
    day: TimeRange,
    range: impl Fn(&SourceFile) -> (i64, i64),
) -> Vec<usize> {
    // (index, bytes before it) of every place a cut may go.
    let mut valid = Vec::new();
    let (mut bytes_before, mut max_before) = (0u64, i64::MIN);
    for (i, file) in ranged.iter().enumerate() {
        let (start, end) = range(file);
        if i > 0 && max_before < start && day.start_us < start && start < day.end_us {
            valid.push((i, bytes_before));
        }
        bytes_before += file.bytes;
        max_before = max_before.max(end);
    }
    let total = bytes_before;
    let mut cuts: Vec<usize> = Vec::new();
    for k in 1..streams as u64 {
        let target = total * k / streams as u64;
        let nearest = valid
            .iter()
            .filter(|&&(i, _)| cuts.last().is_none_or(|&last| i > last))
            .min_by_key(|&&(_, before)| before.abs_diff(target));
        if let Some(&(i, _)) = nearest {
            cuts.push(i);
        }
    }
    cuts
}

/// Splits `files` into `streams` streams of consecutive files with about equal bytes.
fn split_into_streams(files: Vec<SourceFile>, streams: usize) -> Vec<Vec<SourceFile>> {
    let total: u64 = files.iter().map(|f| f.bytes).sum();
    let share = total.div_ceil(streams as u64).max(1);
    let mut split: Vec<Vec<SourceFile>> = vec![Vec::new()];
    let mut in_stream = 0u64;
    for file in files {
        if in_stream >= share && split.len() < streams {
            split.push(Vec::new());
            in_stream = 0;
        }
        in_stream += file.bytes;
        split.last_mut().expect("never empty").push(file);
    }
    split
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::footers::Fingerprint;

    const MINUTE: i64 = 60_000_000;
    const DAY: TimeRange = TimeRange {
        start_us: 0,
        end_us: 1440 * MINUTE,
    };

    fn file(name: &str, range: Option<(i64, i64)>, bytes: u64) -> SourceFile {
        SourceFile {
            path: name.into(),
            rows: 10,
            bytes,
            projection: vec![Some(0), Some(1), Some(2), Some(3), Some(4)],
            create_at_range: range,
            fingerprint: Fingerprint::of_size(bytes),
            object: None,
        }
    }

    fn minute_files(n: i64) -> Vec<SourceFile> {
        (0..n)
            .map(|m| file(&format!("{m:04}"), Some((m * MINUTE, m * MINUTE)), 100))
            .collect()
    }

    fn names(part: &Part) -> Vec<String> {
        part.streams
            .concat()
            .iter()
            .map(|f| f.path.display().to_string())
            .collect()
    }

    #[test]
    fn minute_files_are_cut_into_equal_parts_that_cover_the_day() {
        let parts = plan(minute_files(1440), 2, DAY);
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0].range,
            TimeRange {
                start_us: 0,
                end_us: 720 * MINUTE
            }
        );
        assert_eq!(
            parts[1].range,
            TimeRange {
                start_us: 720 * MINUTE,
                end_us: DAY.end_us
            }
        );
        assert_eq!(names(&parts[0]).len(), 720);
        assert_eq!(names(&parts[1])[0], "0720");
        assert!(parts.iter().all(|p| p.streams.len() == 1));
    }

    #[test]
    fn three_streams_make_three_parts() {
        let parts = plan(minute_files(30), 3, DAY);
        let ranges: Vec<_> = parts
            .iter()
            .map(|p| (p.range.start_us, p.range.end_us))
            .collect();
        assert_eq!(
            ranges,
            [
                (0, 10 * MINUTE),
                (10 * MINUTE, 20 * MINUTE),
                (20 * MINUTE, DAY.end_us)
            ]
        );
    }

    #[test]
    fn a_file_without_statistics_means_one_shared_table() {
        let mut files = minute_files(4);
        files[2].create_at_range = None;
        let parts = plan(files, 2, DAY);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].range, DAY);
        assert_eq!(
            parts[0].streams.len(),
            2,
            "both streams still run, into one table"
        );
    }

    #[test]
    fn overlapping_files_are_never_split_apart() {
        // 0000 spans the whole morning: the only cut is after the morning.
        let mut files = minute_files(4);
        files[0].create_at_range = Some((0, 700 * MINUTE));
        for m in 800..803 {
            files.push(file(&format!("{m}"), Some((m * MINUTE, m * MINUTE)), 100));
        }
        let parts = plan(files, 2, DAY);
        assert_eq!(parts.len(), 2);
        assert_eq!(names(&parts[0]), ["0000", "0001", "0002", "0003"]);
        assert_eq!(names(&parts[1]), ["800", "801", "802"]);
        assert_eq!(parts[1].range.start_us, 800 * MINUTE);
    }

    #[test]
    fn a_lopsided_cut_falls_back_to_sharing_one_table() {
        // Only one cut is possible, after the first of ten files: 10 % against 90 %.
        let mut files = minute_files(10);
        for f in &mut files[1..] {
            f.create_at_range = Some((MINUTE, 9 * MINUTE));
        }
        let parts = plan(files, 2, DAY);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].streams.len(), 2);
    }

    #[test]
    fn files_that_all_overlap_share_one_table() {
        let files = (0..4)
            .map(|m| file(&format!("{m}"), Some((0, DAY.end_us - 1)), 100))
            .collect();
        let parts = plan(files, 2, DAY);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].streams.len(), 2);
    }

    #[test]
    fn no_cut_outside_the_day() {
        // The second file claims to start after the day: no part may start there (its
        // rows are refused while reading, with their row and column).
        let files = vec![
            file("a", Some((0, MINUTE)), 100),
            file("b", Some((DAY.end_us + MINUTE, DAY.end_us + MINUTE)), 100),
        ];
        assert_eq!(plan(files, 2, DAY).len(), 1);
    }

    #[test]
    fn empty_files_go_to_the_first_part() {
        let mut files = minute_files(4);
        files.push(SourceFile {
            rows: 0,
            create_at_range: None,
            ..file("empty", None, 10)
        });
        let parts = plan(files, 2, DAY);
        assert_eq!(parts.len(), 2);
        assert!(names(&parts[0]).contains(&"empty".to_owned()));
    }

    #[test]
    fn one_stream_or_one_file_is_one_part() {
        assert_eq!(plan(minute_files(10), 1, DAY).len(), 1);
        let parts = plan(minute_files(1), 4, DAY);
        assert_eq!((parts.len(), parts[0].streams.len()), (1, 1));
    }

    #[test]
    fn shared_streams_are_consecutive_and_balanced_by_bytes() {
        let files: Vec<_> = (0..10).map(|m| file(&format!("{m}"), None, 100)).collect();
        let split = split_into_streams(files, 3);
        let sizes: Vec<_> = split.iter().map(Vec::len).collect();
        assert_eq!(sizes, [4, 4, 2]);
    }

    #[test]
    fn a_day_planned_by_names_is_cut_at_a_minute_into_equal_parts() {
        let items: Vec<(u16, u64, u16)> = (0..1440).map(|m| (m, 100, m)).collect();
        let parts = plan_by_names(items, 2, DAY);
        let ranges: Vec<TimeRange> = parts.iter().map(|p| p.0).collect();
        let cut = TimeRange {
            start_us: 0,
            end_us: 720 * MINUTE,
        };
        assert_eq!(ranges[0], cut);
        assert_eq!(ranges[1].start_us, 720 * MINUTE);
        assert_eq!(ranges[1].end_us, DAY.end_us);
        assert_eq!(parts[0].1, (0..720).collect::<Vec<_>>());
        assert_eq!(parts[1].1, (720..1440).collect::<Vec<_>>());
    }

    #[test]
    fn a_plan_by_names_covers_the_day_whatever_minutes_there_are() {
        // A partial day: minutes 10, 11, 500 and 1439; four streams for four files.
        let items = vec![(10, 5, "a"), (11, 5, "b"), (500, 5, "c"), (1439, 5, "d")];
        let parts = plan_by_names(items, 8, DAY);
        let starts: Vec<i64> = parts.iter().map(|p| p.0.start_us / MINUTE).collect();
        let ends: Vec<i64> = parts.iter().map(|p| p.0.end_us / MINUTE).collect();
        assert_eq!(starts, [0, 11, 500, 1439]);
        assert_eq!(ends, [11, 500, 1439, 1440]);
        assert_eq!(plan_by_names(Vec::<(u16, u64, ())>::new(), 2, DAY), []);
        let one = plan_by_names(vec![(3, 1, ()), (4, 1, ())], 1, DAY);
        assert_eq!(one, [(DAY, vec![(), ()])]);
    }
}
