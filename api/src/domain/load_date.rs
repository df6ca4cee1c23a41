use std::fmt;

use chrono::NaiveDate;

/// A day to load, written exactly `YYYY-MM-DD`.
///
/// Strict on purpose: `2023-1-1`, `2023-01-01T00:00` or ` 2023-01-01` are rejected rather
/// than guessed at, so that what a user typed is what gets loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LoadDate(NaiveDate);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadDateError {
    #[error("{name} is missing; give a day as YYYY-MM-DD, e.g. 2023-01-01")]
    Missing { name: &'static str },
    #[error("{name} must be a day written YYYY-MM-DD, e.g. 2023-01-01; got {shown}")]
    Malformed { name: &'static str, shown: String },
    #[error("{name} is not a day of the calendar: {shown}")]
    Impossible { name: &'static str, shown: String },
}

impl LoadDate {
    /// Parses the query parameter `name`'s value.
    pub fn parse(name: &'static str, input: &str) -> Result<Self, LoadDateError> {
        if input.is_empty() {
            return Err(LoadDateError::Missing { name });
        }
        let shown = shown(input);
        let bytes = input.as_bytes();
        let well_formed = bytes.len() == 10
            && bytes.iter().enumerate().all(|(i, b)| match i {
                4 | 7 => *b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !well_formed {
            return Err(LoadDateError::Malformed { name, shown });
        }
        NaiveDate::parse_from_str(input, "%Y-%m-%d")
            .map(Self)
            .map_err(|_| LoadDateError::Impossible { name, shown })
    }

    pub fn get(self) -> NaiveDate {
        self.0
    }
}

impl From<NaiveDate> for LoadDate {
    fn from(date: NaiveDate) -> Self {
        Self(date)
    }
}

impl fmt::Display for LoadDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.format("%Y-%m-%d").fmt(f)
    }
}

/// The input echoed back in an error: quoted, and cut short so that a 10 KB parameter
/// does not come back as a 10 KB message.
fn shown(input: &str) -> String {
    const MAX_CHARS: usize = 40;
    let mut cut: String = input.chars().take(MAX_CHARS).collect();
    if cut.len() < input.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

/// An inclusive range of days for a backfill, at most [`DateRange::MAX_DAYS`] long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateRange {
    from: LoadDate,
    to: LoadDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateRangeError {
    #[error("from ({from}) is after to ({to})")]
    Reversed { from: LoadDate, to: LoadDate },
    #[error("a backfill covers at most {max} days; {from} … {to} is {days}")]
    TooLong {
        from: LoadDate,
        to: LoadDate,
        days: i64,
        max: i64,
    },
}

impl DateRange {
    /// One job per day: a year is plenty for a backfill and bounds one request's work.
    pub const MAX_DAYS: i64 = 366;

    pub fn new(from: LoadDate, to: LoadDate) -> Result<Self, DateRangeError> {
        let days = (to.0 - from.0).num_days() + 1;
        if days < 1 {
            return Err(DateRangeError::Reversed { from, to });
        }
        if days > Self::MAX_DAYS {
            return Err(DateRangeError::TooLong {
                from,
                to,
                days,
                max: Self::MAX_DAYS,
            });
        }
        Ok(Self { from, to })
    }

    pub fn from(&self) -> LoadDate {
        self.from
    }

    pub fn to(&self) -> LoadDate {
        self.to
    }

    pub fn days(&self) -> impl Iterator<Item = LoadDate> + use<> {
        self.from
            .0
            .iter_days()
            .take_while({
                let to = self.to.0;
                move |d| *d <= to
            })
            .map(LoadDate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<LoadDate, LoadDateError> {
        LoadDate::parse("date", s)
    }

    #[test]
    fn accepts_exact_calendar_days() {
        assert_eq!(
            parse("2023-01-01").map(|d| d.to_string()),
            Ok("2023-01-01".into())
        );
        assert!(parse("2024-02-29").is_ok());
    }

    #[test]
    fn rejects_what_it_would_have_to_guess() {
        for bad in [
            "2023-1-1",
            "2023-01-01T00:00",
            " 2023-01-01",
            "2023/01/01",
            "01-01-2023",
            "२०२३-01-01",
            "../etc/pa",
        ] {
            assert!(
                matches!(parse(bad), Err(LoadDateError::Malformed { .. })),
                "{bad}"
            );
        }
        assert_eq!(parse(""), Err(LoadDateError::Missing { name: "date" }));
    }

    #[test]
    fn rejects_impossible_days() {
        for bad in ["2023-02-30", "2023-13-01", "2023-00-10", "2023-02-29"] {
            assert!(
                matches!(parse(bad), Err(LoadDateError::Impossible { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn long_input_is_cut_short_in_the_message() {
        let message = parse(&"x".repeat(10_000))
            .expect_err("too long")
            .to_string();
        assert!(message.len() < 150, "{message}");
    }

    #[test]
    fn ranges_are_inclusive_and_bounded() {
        let d = |s| parse(s).expect("date");
        let range = DateRange::new(d("2023-01-30"), d("2023-02-02")).expect("range");
        let days: Vec<String> = range.days().map(|d| d.to_string()).collect();
        assert_eq!(
            days,
            ["2023-01-30", "2023-01-31", "2023-02-01", "2023-02-02"]
        );
        assert!(DateRange::new(d("2023-01-02"), d("2023-01-01")).is_err());
        assert!(DateRange::new(d("2023-01-01"), d("2024-01-02")).is_err());
    }
}
