//! Finding a day's minute files in the data directory, and judging whether they make the
//! day whole: exactly one file per minute, each under its one canonical name
//! `YYYY-MM-DD HH:MM:00.parquet`, each a regular file.
//!
//! A day with a minute missing is **incomplete** (a copy still in progress, a lost file):
//! loading it would replace a whole day with part of one, so it is refused unless the
//! caller allows a partial day. Any other name that starts with the day (`… (1).parquet`,
//! `….parquet.bak.parquet`, another spelling of a minute) makes the day **ambiguous**:
//! which copy is the truth is not ours to guess, so it is refused, naming the files.
//! Names starting with a dot (temporary files of writers) are not the day's.
//!
//! [`DayFiles`] holds any dataset's day, judged by its [`DayRule`]: its slots (minutes,
//! hours, the day, or a glob's parts) are filled by this module's minute lister for the
//! sample and by `layout` (a directory) or `bucket/by_pattern.rs` for a declared dataset.

use std::collections::{BTreeMap, HashMap};
use std::fs::DirEntry;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::NaiveDate;
use object_store::ObjectMeta;

use crate::error::LoadError;
use crate::files::day_rule::{Completeness, DayRule};
use crate::files::pattern::Cadence;
use crate::warehouse::day::MissingMinutes;

/// What the data directory holds for one day.
#[derive(Debug, Clone)]
pub struct DayFiles {
    date: NaiveDate,
    dir: PathBuf,
    rule: DayRule,
    /// Canonical files, by slot of the day (minute, hour; a glob's parts numbered in name
    /// order).
    minutes: BTreeMap<u16, DirEntryInfo>,
    /// Other names that start with the day.
    strays: Vec<String>,
    /// Whether the completeness rule's marker file is there.
    marker_found: bool,
    /// A name the day's files would have, for the message of a day without any.
    example: Option<String>,
}

/// A day's minute files as they are now (see [`DayFiles::summary`]); the default is a day
/// without files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilesSummary {
    pub files: usize,
    pub bytes: u64,
    pub newest: Option<SystemTime>,
}

#[derive(Debug, Clone)]
struct DirEntryInfo {
    /// The file's path, or how an object is named in messages (`s3://bucket/prefix/name`).
    path: PathBuf,
    file_type: Option<std::fs::FileType>,
    /// Set for an object in a bucket (which is never a FIFO or a directory).
    object: Option<ObjectMeta>,
}

impl DayFiles {
    /// An empty listing of a day in a bucket, named `url` in messages.
    pub(crate) fn in_bucket(date: NaiveDate, url: PathBuf) -> Self {
        Self::new(date, &url)
    }

    /// Adds an object of the day found in a bucket (`name` under the prefix).
    pub(crate) fn add_object(&mut self, name: &str, display: PathBuf, meta: ObjectMeta) {
        let entry = DirEntryInfo {
            path: display,
            file_type: None,
            object: Some(meta),
        };
        insert(self, name, entry);
    }

    /// The day's objects in minute order: the minute each is named for, how it is named in
    /// messages, and what the listing said of it.
    pub(crate) fn objects(&self) -> Vec<(u16, PathBuf, ObjectMeta)> {
        self.minutes
            .iter()
            .filter_map(|(&minute, e)| Some((minute, e.path.clone(), e.object.clone()?)))
            .collect()
    }

    fn new(date: NaiveDate, dir: &Path) -> Self {
        Self::judged_by(date, dir, DayRule::sample())
    }

    /// An empty listing of `date` in `dir` (how the day's folder is named in messages), to
    /// be judged by `rule`.
    pub(crate) fn judged_by(date: NaiveDate, dir: &Path, rule: DayRule) -> Self {
        Self {
            date,
            dir: dir.to_path_buf(),
            rule,
            minutes: BTreeMap::new(),
            strays: Vec::new(),
            marker_found: false,
            example: None,
        }
    }

    /// The listing, saying `example` is what the day's files are called when it has none.
    pub(crate) fn expecting(self, example: String) -> Self {
        Self {
            example: Some(example),
            ..self
        }
    }

    /// Adds the file of `slot` found at `path` (`file_type` of a directory entry, or
    /// `object` for an object in a bucket); a second file for a slot is a stray.
    pub(crate) fn add_slot(
        &mut self,
        slot: u16,
        path: PathBuf,
        file_type: Option<std::fs::FileType>,
        object: Option<ObjectMeta>,
        name: &str,
    ) {
        let entry = DirEntryInfo {
            path,
            file_type,
            object,
        };
        match self.minutes.entry(slot) {
            std::collections::btree_map::Entry::Vacant(vacant) => {
                vacant.insert(entry);
            }
            std::collections::btree_map::Entry::Occupied(_) => self.strays.push(name.to_owned()),
        }
    }

    /// Adds a name of the day that is none of its files: it makes the day ambiguous.
    pub(crate) fn add_stray(&mut self, name: &str) {
        self.strays.push(name.to_owned());
    }

    /// Records that the completeness rule's marker file is there.
    pub(crate) fn found_marker(&mut self) {
        self.marker_found = true;
    }

    /// How the day is judged.
    pub fn rule(&self) -> &DayRule {
        &self.rule
    }

    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// Canonical files found (minute files, for the sample).
    pub fn file_count(&self) -> usize {
        self.minutes.len()
    }

    /// The slots of the day without a file (minutes, hours, the day), as the time each
    /// starts at; none for a day of parts, whose number is not known.
    pub fn missing(&self) -> MissingMinutes {
        let Some(cadence) = self.rule.cadence else {
            return MissingMinutes::default();
        };
        let slots = u16::try_from(cadence.slots()).expect("a day has few slots");
        MissingMinutes::from(
            (0..slots)
                .filter(|slot| !self.minutes.contains_key(slot))
                .map(|slot| cadence.time_of(slot))
                .collect::<Vec<_>>(),
        )
    }

    /// Refuses an ambiguous day, and an incomplete one unless `allow_partial`; returns the
    /// minutes that are missing (none for a whole day).
    pub fn judge(&self, allow_partial: bool) -> Result<MissingMinutes, LoadError> {
        if self.minutes.is_empty() && self.strays.is_empty() {
            return Err(LoadError::NoSourceFiles {
                date: self.date,
                dir: self.dir.clone(),
                example: self
                    .example
                    .clone()
                    .unwrap_or_else(|| format!("{} 00:00:00.parquet", self.date)),
            });
        }
        if !self.strays.is_empty() {
            return Err(LoadError::DayAmbiguous {
                date: self.date,
                files: self.strays.clone(),
                what: match self.rule.cadence {
                    Some(Cadence::Minute) => "minute files",
                    Some(Cadence::Hour) => "hour files",
                    _ => "files",
                },
            });
        }
        if let Completeness::Marker(marker) = &self.rule.complete
            && !self.marker_found
            && !allow_partial
        {
            return Err(LoadError::DayUnfinished {
                date: self.date,
                dir: self.dir.clone(),
                marker: marker.clone(),
            });
        }
        if self.rule.complete != Completeness::All {
            return Ok(MissingMinutes::default());
        }
        let missing = self.missing();
        if !missing.is_empty() && !allow_partial {
            let cadence = self.rule.cadence.unwrap_or(Cadence::Minute);
            return Err(LoadError::DayIncomplete {
                date: self.date,
                missing,
                slots: cadence.slots(),
                unit: cadence.unit(),
            });
        }
        Ok(missing)
    }
}

/// The files of `date` in `dir`, from one listing of it.
pub fn list_day(dir: &Path, date: NaiveDate) -> Result<DayFiles, LoadError> {
    let wanted = date.format("%Y-%m-%d").to_string();
    let mut day = DayFiles::new(date, dir);
    for_each_entry(dir, |name, entry| {
        if name.starts_with(&wanted) {
            add(&mut day, name, entry);
        }
    })?;
    Ok(day)
}

/// Every day that has files in `dir`, from one listing of it: a range of days asks this
/// once rather than listing the directory (tens of thousands of files) per day.
pub fn list_days(dir: &Path) -> Result<BTreeMap<NaiveDate, DayFiles>, LoadError> {
    let mut days: BTreeMap<NaiveDate, DayFiles> = BTreeMap::new();
    // A month has 31 spellings of a day among its 43,201 names: parse each once.
    let mut spellings: HashMap<String, Option<NaiveDate>> = HashMap::new();
    for_each_entry(dir, |name, entry| {
        let Some(prefix) = name.get(..10) else {
            return;
        };
        let date = match spellings.get(prefix) {
            Some(&date) => date,
            None => *spellings.entry(prefix.to_owned()).or_insert(day_of(prefix)),
        };
        if let Some(date) = date {
            let day = days.entry(date).or_insert_with(|| DayFiles::new(date, dir));
            add(day, name, entry);
        }
    })?;
    Ok(days)
}

/// The day `prefix` (a name's first ten characters) spells, when it spells one as
/// `YYYY-MM-DD`.
pub(crate) fn day_of(prefix: &str) -> Option<NaiveDate> {
    let date = NaiveDate::parse_from_str(prefix, "%Y-%m-%d").ok()?;
    (date.format("%Y-%m-%d").to_string() == prefix).then_some(date)
}

fn add(day: &mut DayFiles, name: &str, entry: &DirEntry) {
    let info = DirEntryInfo {
        path: entry.path(),
        file_type: entry.file_type().ok(),
        object: None,
    };
    insert(day, name, info);
}

fn insert(day: &mut DayFiles, name: &str, entry: DirEntryInfo) {
    match canonical_minute(name) {
        Some(minute) if !day.minutes.contains_key(&minute) => {
            day.minutes.insert(minute, entry);
        }
        _ => day.strays.push(name.to_owned()),
    }
}

/// The day and the minute of the day (0–1439) that a canonical minute file's name stands
/// for (`2023-01-01 00:03:00.parquet` → 2023-01-01, 3); `None` for any other name.
pub fn parse_minute_file(name: &str) -> Option<(NaiveDate, u16)> {
    Some((day_of(name.get(..10)?)?, canonical_minute(name)?))
}

/// The day a name that is not a minute file belongs to, when it starts with one
/// (`2023-01-01 00:00:00 (1).parquet` → 2023-01-01): such a name makes its day ambiguous.
/// Names starting with a dot (writers' temporary files) belong to no day.
pub fn stray_day(name: &str) -> Option<NaiveDate> {
    if name.starts_with('.') || parse_minute_file(name).is_some() {
        return None;
    }
    day_of(name.get(..10)?)
}

/// The minute of the day of a canonical name, `YYYY-MM-DD HH:MM:00.parquet` (zero-padded
/// hour 00–23, minute 00–59, seconds 00). By bytes rather than with chrono's parser and a
/// format back: it runs for every name of a month's listing (43,201), where that tripled
/// the listing's time.
fn canonical_minute(name: &str) -> Option<u16> {
    let b = name.as_bytes();
    if b.len() != 27 || b[10] != b' ' || b[13] != b':' || &b[16..] != b":00.parquet" {
        return None;
    }
    let two_digits = |i: usize| {
        let (tens, ones) = (b[i], b[i + 1]);
        (tens.is_ascii_digit() && ones.is_ascii_digit())
            .then(|| u16::from(tens - b'0') * 10 + u16::from(ones - b'0'))
    };
    let (hour, minute) = (two_digits(11)?, two_digits(14)?);
    (hour < 24 && minute < 60).then_some(hour * 60 + minute)
}

/// Calls `each` with the name and entry of every entry of `dir` not starting with a dot.
/// Names are compared as text: a month's listing (43,201 files) stays cheap.
fn for_each_entry(dir: &Path, mut each: impl FnMut(&str, &DirEntry)) -> Result<(), LoadError> {
    let unreadable = |source| LoadError::SourceDir {
        dir: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.starts_with('.') {
            each(&name, &entry);
        }
    }
    Ok(())
}

mod now;

#[cfg(test)]
mod tests;
