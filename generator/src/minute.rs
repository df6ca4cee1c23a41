//! Minutes of the dataset: file index `i` is `2023-01-01 00:00 + i minutes`.

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta, Timelike};

/// Minutes in one day, and so files per full day.
pub const MINUTES_PER_DAY: u32 = 1440;

/// Index of the last minute of the reference month, 2023-01-31 00:00.
pub const REFERENCE_LAST_INDEX: u32 = 30 * MINUTES_PER_DAY;

/// The first minute of the dataset, 2023-01-01 00:00:00 (index 0).
pub fn first_minute() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2023, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("2023-01-01 00:00 is a valid timestamp")
}

/// The minute with index `index`.
pub fn minute_at(index: u32) -> NaiveDateTime {
    first_minute() + TimeDelta::minutes(i64::from(index))
}

/// The file name the reference script gives minute `index`: `YYYY-MM-DD HH:MM:SS.parquet`.
pub fn file_name(index: u32) -> String {
    minute_at(index)
        .format("%Y-%m-%d %H:%M:%S.parquet")
        .to_string()
}

/// Why a requested minute or range cannot be generated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RangeError {
    #[error("{0} is before the first minute of the dataset, 2023-01-01 00:00")]
    BeforeStart(NaiveDateTime),
    #[error("{0} is not a whole minute; use \"YYYY-MM-DD HH:MM\"")]
    NotWholeMinute(NaiveDateTime),
    #[error("{0} is too far after 2023-01-01 for this dataset")]
    TooLate(NaiveDateTime),
    #[error("--from {from} is after --to {to}")]
    Reversed {
        from: NaiveDateTime,
        to: NaiveDateTime,
    },
}

/// The index of `minute`, which must be a whole minute at or after 2023-01-01 00:00.
pub fn index_of(minute: NaiveDateTime) -> Result<u32, RangeError> {
    if minute.second() != 0 || minute.nanosecond() != 0 {
        return Err(RangeError::NotWholeMinute(minute));
    }
    let minutes = (minute - first_minute()).num_minutes();
    if minutes < 0 {
        return Err(RangeError::BeforeStart(minute));
    }
    u32::try_from(minutes).map_err(|_| RangeError::TooLate(minute))
}

/// An inclusive range of minute indices, never empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinuteRange {
    first: u32,
    last: u32,
}

impl MinuteRange {
    /// The whole reference month: 2023-01-01 00:00 ..= 2023-01-31 00:00 (43,201 minutes).
    pub fn reference_month() -> Self {
        Self {
            first: 0,
            last: REFERENCE_LAST_INDEX,
        }
    }

    /// The minutes from `from` to `to`, both included.
    pub fn between(from: NaiveDateTime, to: NaiveDateTime) -> Result<Self, RangeError> {
        if from > to {
            return Err(RangeError::Reversed { from, to });
        }
        Ok(Self {
            first: index_of(from)?,
            last: index_of(to)?,
        })
    }

    /// The 1,440 minutes of `day`.
    pub fn day(day: NaiveDate) -> Result<Self, RangeError> {
        let start = day.and_time(chrono::NaiveTime::MIN);
        let end = start + TimeDelta::minutes(i64::from(MINUTES_PER_DAY - 1));
        Self::between(start, end)
    }

    pub fn first(&self) -> u32 {
        self.first
    }

    pub fn last(&self) -> u32 {
        self.last
    }

    /// Number of minutes (files) in the range.
    pub fn len(&self) -> u32 {
        self.last - self.first + 1
    }

    /// Always false: a range holds at least one minute.
    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn indices(&self) -> std::ops::RangeInclusive<u32> {
        self.first..=self.last
    }
}

impl fmt::Display for MinuteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fmt = "%Y-%m-%d %H:%M";
        write!(
            f,
            "{} .. {}",
            minute_at(self.first).format(fmt),
            minute_at(self.last).format(fmt)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("test timestamp")
    }

    #[test]
    fn names_match_the_reference_files() {
        assert_eq!(file_name(0), "2023-01-01 00:00:00.parquet");
        assert_eq!(file_name(1440), "2023-01-02 00:00:00.parquet");
        assert_eq!(
            file_name(REFERENCE_LAST_INDEX),
            "2023-01-31 00:00:00.parquet"
        );
    }

    #[test]
    fn reference_month_has_43201_minutes() {
        assert_eq!(MinuteRange::reference_month().len(), 43_201);
    }

    #[test]
    fn a_day_is_1440_minutes_from_midnight() {
        let day = NaiveDate::from_ymd_opt(2023, 1, 2).expect("date");
        let range = MinuteRange::day(day).expect("valid day");
        assert_eq!((range.first(), range.last()), (1440, 2879));
    }

    #[test]
    fn rejects_bad_ranges() {
        assert_eq!(
            MinuteRange::between(at("2022-12-31 23:59"), at("2023-01-01 00:10")),
            Err(RangeError::BeforeStart(at("2022-12-31 23:59")))
        );
        assert_eq!(
            MinuteRange::between(at("2023-01-02 00:00"), at("2023-01-01 00:00")),
            Err(RangeError::Reversed {
                from: at("2023-01-02 00:00"),
                to: at("2023-01-01 00:00")
            })
        );
    }
}
