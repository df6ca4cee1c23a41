//! A dataset's file pattern: where a day's files are and what they are called, relative to
//! the source, as strftime fields and globs — `%Y-%m-%d %H:%M:%S.parquet` (one file a
//! minute, the sample's), `%Y/%m/%d/%H.parquet` (an hour), `%Y-%m-%d.parquet` (a day),
//! `dt=%Y-%m-%d/*.parquet` or `year=%Y/month=%m/day=%d/*.parquet` (Hive directories with
//! any number of parts).
//!
//! Fields: `%Y` (four digits), `%m`, `%d`, `%H`, `%M`, `%S` (two digits each), `%%`; `*`
//! matches any run of characters within one path segment. The finest of day, hour and
//! minute is the pattern's **cadence**: the files a whole day needs (one, 24, 1,440);
//! `%S`, when present, reads `00`. A path matches only in its one canonical spelling, so
//! that no file can stand for a slot under two names.

use std::fmt;

use chrono::{NaiveDate, NaiveTime};
use regex::Regex;

/// How often a pattern without a glob has a file: what a whole day is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cadence {
    Day,
    Hour,
    Minute,
}

impl Cadence {
    /// Files a whole day has.
    pub fn slots(self) -> usize {
        match self {
            Self::Day => 1,
            Self::Hour => 24,
            Self::Minute => 1440,
        }
    }

    /// What one slot is called, in the plural, for messages ("minutes").
    pub fn unit(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Hour => "hours",
            Self::Minute => "minutes",
        }
    }

    /// The time of day slot `slot` starts at.
    pub fn time_of(self, slot: u16) -> NaiveTime {
        let minutes = match self {
            Self::Day => 0,
            Self::Hour => u32::from(slot) * 60,
            Self::Minute => u32::from(slot),
        };
        NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).expect("a slot of the day")
    }
}

/// One piece of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Glob,
}

/// A parsed file pattern.
#[derive(Clone, Debug)]
pub struct FilePattern {
    text: String,
    pieces: Vec<Piece>,
    regex: Regex,
}

/// Where a path that matches a pattern belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Matched {
    pub date: NaiveDate,
    /// The slot of the day (0 for a daily file, 0–23, 0–1439); `None` with a glob.
    pub slot: Option<u16>,
}

impl FilePattern {
    /// Parses `text`; it must name the day (`%Y`, `%m`, `%d`), end in a file name, and
    /// spell a time only down from the hour (`%M` needs `%H`, `%S` needs `%M`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let pieces = pieces(text)?;
        let has = |p: &Piece| pieces.contains(p);
        let fail = |why: &str| Err(format!("file pattern {text:?}: {why}"));
        if !(has(&Piece::Year) && has(&Piece::Month) && has(&Piece::Day)) {
            return fail("it must name the day with %Y, %m and %d");
        }
        if (has(&Piece::Minute) && !has(&Piece::Hour))
            || (has(&Piece::Second) && !has(&Piece::Minute))
        {
            return fail("%M needs %H, and %S needs %M");
        }
        if has(&Piece::Glob) && (has(&Piece::Hour) || has(&Piece::Minute)) {
            return fail("a pattern with a glob (*) cannot also spell hours or minutes");
        }
        if text.starts_with('/')
            || text.ends_with('/')
            || text.split('/').any(|s| s.is_empty() || s == "..")
        {
            return fail(
                "it is relative to the source: no leading or trailing '/', no empty or '..' segment",
            );
        }
        let regex = Regex::new(&format!("^{}$", regex_of(&pieces)))
            .map_err(|e| format!("file pattern {text:?}: {e}"))?;
        Ok(Self {
            text: text.to_owned(),
            pieces,
            regex,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether a part of a file's name is left to a glob: then the day has any number of
    /// files, and a completeness rule must say when it is whole.
    pub fn has_glob(&self) -> bool {
        self.pieces.contains(&Piece::Glob)
    }

    /// The finest time field: what a whole day is made of (without a glob).
    pub fn cadence(&self) -> Cadence {
        if self.pieces.contains(&Piece::Minute) {
            Cadence::Minute
        } else if self.pieces.contains(&Piece::Hour) {
            Cadence::Hour
        } else {
            Cadence::Day
        }
    }

    /// The folder, relative to the source, that holds every file of `date` (`""`: the
    /// source itself): the pattern's segments before the first that spells more than the
    /// day, with the day written in.
    pub fn day_folder(&self, date: NaiveDate) -> String {
        let segments = self.segments();
        let fixed = segments
            .iter()
            .take(segments.len() - 1)
            .take_while(|segment| segment.iter().all(is_of_the_day))
            .map(|segment| spell(segment, date))
            .collect::<Vec<_>>();
        fixed.join("/")
    }

    /// How many more segments a file of the day has below [`day_folder`](Self::day_folder).
    pub fn depth_below_day_folder(&self, date: NaiveDate) -> usize {
        let folder = self.day_folder(date);
        let above = if folder.is_empty() {
            0
        } else {
            folder.split('/').count()
        };
        self.segments().len() - above
    }

    /// Whether the day's folder holds only that day's files (every date field is above
    /// the file name), or other days' too (the sample's one flat directory).
    pub fn folder_is_the_days_own(&self) -> bool {
        let segments = self.segments();
        let name = segments.last().expect("a pattern has a file name");
        !name
            .iter()
            .any(|p| matches!(p, Piece::Year | Piece::Month | Piece::Day))
    }

    /// The start every file name of `date` has, in a folder shared with other days: the
    /// file name's pieces up to its last date field, written out
    /// (`2023-01-01` for `%Y-%m-%d %H:%M:%S.parquet`). A name in that folder with this
    /// start that is not one of the day's files makes the day ambiguous.
    pub fn day_name_prefix(&self, date: NaiveDate) -> String {
        let segments = self.segments();
        let name = segments.last().expect("a pattern has a file name");
        let last_date = name
            .iter()
            .rposition(|p| matches!(p, Piece::Year | Piece::Month | Piece::Day))
            .unwrap_or(0);
        spell(&name[..=last_date], date)
    }

    /// The day and slot `path` (relative to the source, `/`-separated) stands for, when it
    /// is a file of this pattern spelled canonically.
    pub fn match_path(&self, path: &str) -> Option<Matched> {
        let captures = self.regex.captures(path)?;
        let number = |name: &str| captures.name(name).map(|m| m.as_str().parse::<u32>().ok());
        let year = i32::try_from(number("Y")??).ok()?;
        let date = NaiveDate::from_ymd_opt(year, number("m")??, number("d")??)?;
        // A field the pattern lacks reads 0; one it has must be a number.
        let optional = |name: &str| match number(name) {
            None => Some(0),
            Some(value) => value,
        };
        let (hour, minute, second) = (optional("H")?, optional("M")?, optional("S")?);
        if hour > 23 || minute > 59 || second != 0 {
            return None;
        }
        let slot = match (self.has_glob(), self.cadence()) {
            (true, _) => None,
            (false, Cadence::Day) => Some(0),
            (false, Cadence::Hour) => Some(hour as u16),
            (false, Cadence::Minute) => Some((hour * 60 + minute) as u16),
        };
        Some(Matched { date, slot })
    }

    /// The path of slot `slot` of `date` (for a pattern without a glob).
    pub fn path_of(&self, date: NaiveDate, slot: u16) -> String {
        let time = self.cadence().time_of(slot);
        let mut path = String::new();
        for piece in &self.pieces {
            path.push_str(&piece_text(piece, date, Some(time)));
        }
        path
    }

    /// The path of the day's first file, or with a glob the pattern with the day written
    /// in (`year=2024/month=03/day=09/*.parquet`), for messages.
    pub fn example(&self, date: NaiveDate) -> String {
        self.path_of(date, 0)
    }

    fn segments(&self) -> Vec<Vec<Piece>> {
        let mut segments = vec![Vec::new()];
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) if text.contains('/') => {
                    let mut parts = text.split('/');
                    if let Some(first) = parts.next().filter(|f| !f.is_empty()) {
                        segments
                            .last_mut()
                            .expect("one")
                            .push(Piece::Text(first.to_owned()));
                    }
                    for part in parts {
                        segments.push(Vec::new());
                        if !part.is_empty() {
                            segments
                                .last_mut()
                                .expect("one")
                                .push(Piece::Text(part.to_owned()));
                        }
                    }
                }
                other => segments.last_mut().expect("one").push(other.clone()),
            }
        }
        segments
    }
}

impl fmt::Display for FilePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn is_of_the_day(piece: &Piece) -> bool {
    matches!(
        piece,
        Piece::Text(_) | Piece::Year | Piece::Month | Piece::Day
    )
}

fn spell(pieces: &[Piece], date: NaiveDate) -> String {
    pieces.iter().map(|p| piece_text(p, date, None)).collect()
}

fn piece_text(piece: &Piece, date: NaiveDate, time: Option<NaiveTime>) -> String {
    let time = time.unwrap_or(NaiveTime::MIN);
    match piece {
        Piece::Text(text) => text.clone(),
        Piece::Year => date.format("%Y").to_string(),
        Piece::Month => date.format("%m").to_string(),
        Piece::Day => date.format("%d").to_string(),
        Piece::Hour => time.format("%H").to_string(),
        Piece::Minute => time.format("%M").to_string(),
        Piece::Second => "00".to_owned(),
        Piece::Glob => "*".to_owned(),
    }
}

/// The pieces of `text`, by hand: strftime as chrono reads it would accept a field
/// anywhere, but a pattern also needs its globs and its path segments.
fn pieces(text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars();
    let push = |pieces: &mut Vec<Piece>, literal: &mut String, piece: Piece| {
        if !literal.is_empty() {
            pieces.push(Piece::Text(std::mem::take(literal)));
        }
        pieces.push(piece);
    };
    while let Some(c) = chars.next() {
        match c {
            '%' => {
                let piece = match chars.next() {
                    Some('Y') => Piece::Year,
                    Some('m') => Piece::Month,
                    Some('d') => Piece::Day,
                    Some('H') => Piece::Hour,
                    Some('M') => Piece::Minute,
                    Some('S') => Piece::Second,
                    Some('%') => {
                        literal.push('%');
                        continue;
                    }
                    other => {
                        return Err(format!(
                            "file pattern {text:?}: %{} is not a field here; use %Y, %m, %d, \
                             %H, %M, %S or %%",
                            other.map(String::from).unwrap_or_default()
                        ));
                    }
                };
                if pieces.contains(&piece) {
                    return Err(format!("file pattern {text:?}: a field appears twice"));
                }
                push(&mut pieces, &mut literal, piece);
            }
            '*' => push(&mut pieces, &mut literal, Piece::Glob),
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    Ok(pieces)
}

fn regex_of(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Text(text) => regex::escape(text),
            Piece::Year => r"(?P<Y>\d{4})".to_owned(),
            Piece::Month => r"(?P<m>\d{2})".to_owned(),
            Piece::Day => r"(?P<d>\d{2})".to_owned(),
            Piece::Hour => r"(?P<H>\d{2})".to_owned(),
            Piece::Minute => r"(?P<M>\d{2})".to_owned(),
            Piece::Second => r"(?P<S>\d{2})".to_owned(),
            Piece::Glob => r"[^/]*".to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
