//! A day of a dataset's table, and the ranges of its partition column that the loader
//! works in.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use serde::Serialize;

use crate::warehouse::column_type::PgType;
use crate::warehouse::table::{self, Table};

/// Minutes in a day, and so minute files in a whole day.
pub const MINUTES_PER_DAY: usize = 1440;

/// One day of a dataset's table: the table, the date and everything the load derives
/// from them, worked out once, when the load starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Day {
    table: Arc<Table>,
    date: NaiveDate,
    range: TimeRange,
    partition: String,
}

impl Day {
    /// `date` of `table`: `[00:00, next day 00:00)`, in the table's time zone for a
    /// `timestamptz` column (a day of 23 or 25 hours where the clocks change).
    pub fn of(table: &Arc<Table>, date: NaiveDate) -> Self {
        let range = match table.partition_column().pg_type {
            PgType::Timestamptz => {
                let zone = table.timezone();
                TimeRange::new(
                    midnight_utc(zone, date),
                    midnight_utc(zone, date + TimeDelta::days(1)),
                )
            }
            _ => {
                let start = date.and_time(NaiveTime::MIN);
                TimeRange::new(start, start + TimeDelta::days(1))
            }
        };
        Self {
            table: Arc::clone(table),
            date,
            range,
            partition: format!("{}_p{}", table.name(), date.format("%Y%m%d")),
        }
    }

    /// `date` of the sample's `dwh.data_sample`.
    pub fn new(date: NaiveDate) -> Self {
        Self::of(&Table::sample(), date)
    }

    pub fn table(&self) -> &Arc<Table> {
        &self.table
    }

    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// `[00:00, next day 00:00)`: the partition column's values the day holds.
    pub fn range(&self) -> TimeRange {
        self.range
    }

    /// The day's table, `<table>_pYYYYMMDD`, in the table's schema (unqualified).
    pub fn partition_name(&self) -> &str {
        &self.partition
    }

    /// `"dwh"."data_sample_pYYYYMMDD"`.
    pub(crate) fn qualified_partition(&self) -> String {
        self.table.qualified_leaf(&self.partition)
    }

    /// `us` (a bound of the day or of a part of it) as a constant of the partition
    /// column's own type, so that a CHECK or a partition bound compares like with like
    /// (a `timestamptz` column against a `timestamp` constant would depend on the
    /// session's time zone, and the planner could not prove the CHECK implies the bound).
    pub(crate) fn bound_literal(&self, us: i64) -> String {
        let at = micros_to_datetime(us);
        match self.table.partition_column().pg_type {
            PgType::Date => format!("DATE '{}'", at.date()),
            PgType::Timestamptz => format!("TIMESTAMPTZ '{at}+00'"),
            _ => format!("TIMESTAMP '{at}'"),
        }
    }

    /// `YYYYMMDD`, as the names of the day's staging tables and leaves spell it.
    pub(crate) fn compact(&self) -> String {
        self.date.format("%Y%m%d").to_string()
    }

    /// The leaf that live minutes are appended to until the day is loaded whole,
    /// `data_sample_pYYYYMMDD_live` (unqualified).
    pub(crate) fn live_leaf_name(&self) -> String {
        format!("{}_live", self.partition)
    }

    /// Creates the day's table (partitioned by the same key, for its leaves) and attaches
    /// it to the dataset's table. Attaching takes SHARE UPDATE EXCLUSIVE on the parent,
    /// which readers do not conflict with.
    pub(crate) fn create_table_statements(&self) -> String {
        format!(
            "CREATE TABLE {day_table} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
                 PARTITION BY RANGE ({column});
             ALTER TABLE {parent} ATTACH PARTITION {day_table}
                 FOR VALUES FROM ({start}) TO ({end});",
            day_table = self.qualified_partition(),
            parent = self.table.qualified(),
            column = table::quote_ident(&self.table.partition_column().name),
            start = self.bound_literal(self.range.start_us),
            end = self.bound_literal(self.range.end_us),
        )
    }

    /// The two keys of the day's advisory lock: the dataset's, and one unique per date.
    pub(crate) fn lock_keys(&self) -> (i32, i32) {
        (self.table.lock_class(), self.date.num_days_from_ce())
    }
}

/// When `date` starts in `zone`, in UTC: its midnight, or where a zone skips midnight
/// (a clock change at 00:00), the first moment of the day that exists.
fn midnight_utc(zone: chrono_tz::Tz, date: NaiveDate) -> NaiveDateTime {
    use chrono::TimeZone;
    let mut local = date.and_time(NaiveTime::MIN);
    loop {
        if let Some(start) = zone.from_local_datetime(&local).earliest() {
            return start.naive_utc();
        }
        local += TimeDelta::minutes(15);
    }
}

/// A half-open range `[start, end)` of `create_at` values (a day, or a part of one), in
/// µs since the Unix epoch: the unit Arrow batches are checked in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimeRange {
    pub start_us: i64,
    pub end_us: i64,
}

impl TimeRange {
    pub fn new(start: NaiveDateTime, end: NaiveDateTime) -> Self {
        Self {
            start_us: start.and_utc().timestamp_micros(),
            end_us: end.and_utc().timestamp_micros(),
        }
    }

    pub fn start(&self) -> NaiveDateTime {
        micros_to_datetime(self.start_us)
    }

    pub fn end(&self) -> NaiveDateTime {
        micros_to_datetime(self.end_us)
    }

    /// The day, for messages: its date when it starts at midnight, else its bounds in UTC
    /// (a day of a time zone other than UTC).
    pub fn describe(&self) -> String {
        let start = self.start();
        if start.time() == NaiveTime::MIN {
            start.date().to_string()
        } else {
            format!("{start} to {} UTC", self.end())
        }
    }
}

/// Ranges only ever hold a day's bounds or footer values inside the day (the planner cuts
/// nowhere else), all far inside chrono's range.
fn micros_to_datetime(us: i64) -> NaiveDateTime {
    DateTime::from_timestamp_micros(us)
        .expect("a timestamp within the day being loaded")
        .naive_utc()
}

/// The minutes of a day without a file, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MissingMinutes(Vec<NaiveTime>);

impl MissingMinutes {
    pub fn count(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn times(&self) -> &[NaiveTime] {
        &self.0
    }
}

impl From<Vec<NaiveTime>> for MissingMinutes {
    fn from(times: Vec<NaiveTime>) -> Self {
        Self(times)
    }
}

/// `00:05, 13:20, 13:21 … and 12 more`: the first few, then how many others.
impl fmt::Display for MissingMinutes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 5;
        let first: Vec<String> = self
            .0
            .iter()
            .take(SHOWN)
            .map(|t| t.format("%H:%M").to_string())
            .collect();
        write!(f, "{}", first.join(", "))?;
        if self.0.len() > SHOWN {
            write!(f, " … and {} more", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamptz_day_is_cut_in_its_time_zone() {
        use crate::warehouse::column_type::PgType;
        use crate::warehouse::table::Column;
        let columns = vec![Column::new("at", PgType::Timestamptz, true)];
        let table = Table::new("trips", "taxi", "trips", columns, "at")
            .expect("table")
            .in_timezone(chrono_tz::Europe::Paris);
        let table = Arc::new(table);
        // The clocks go forward on 2024-03-31: a day of 23 hours, from 23:00 UTC.
        let day = Day::of(&table, NaiveDate::from_ymd_opt(2024, 3, 31).expect("date"));
        assert_eq!(day.range().start().to_string(), "2024-03-30 23:00:00");
        assert_eq!(day.range().end().to_string(), "2024-03-31 22:00:00");
        assert_eq!(
            day.bound_literal(day.range().start_us),
            "TIMESTAMPTZ '2024-03-30 23:00:00+00'"
        );
        assert_eq!(day.partition_name(), "trips_p20240331");
    }

    #[test]
    fn a_day_knows_its_range_and_names() {
        let day = Day::new(NaiveDate::from_ymd_opt(2023, 1, 31).expect("date"));
        assert_eq!(day.range().start().to_string(), "2023-01-31 00:00:00");
        assert_eq!(day.range().end().to_string(), "2023-02-01 00:00:00");
        assert_eq!(day.range().end_us - day.range().start_us, 86_400_000_000);
        assert_eq!(day.partition_name(), "data_sample_p20230131");
        assert_eq!(
            day.qualified_partition(),
            "\"dwh\".\"data_sample_p20230131\""
        );
        assert_eq!(day.compact(), "20230131");
    }
}
