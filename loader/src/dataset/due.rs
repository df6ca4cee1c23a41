//! When a dataset's day must be loaded by (`due = "06:00"`): the day D is due at that
//! time of D + 1 in the dataset's time zone. A day past due and not loaded is late; the
//! service says so (`GET /days`, `GET /datasets`, its metrics).

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};

/// The time of the next day by which a day must be loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Due {
    at: NaiveTime,
}

impl Due {
    /// `HH:MM` (24-hour), the time of day after the day.
    pub fn parse(text: &str) -> Result<Self, String> {
        NaiveTime::parse_from_str(text.trim(), "%H:%M")
            .map(|at| Self { at })
            .map_err(|_| {
                format!(
                    "due {text:?}: write the time of the next day by which a day must be \
                     loaded, as HH:MM (\"06:00\")"
                )
            })
    }

    /// As written: `06:00`.
    pub fn text(&self) -> String {
        self.at.format("%H:%M").to_string()
    }

    /// When `date` falls due: `at` on the next day in `timezone`. In a change to summer
    /// time that skips `at`, the first instant after the gap; in one that repeats it, the
    /// first of the two.
    pub fn deadline(&self, date: NaiveDate, timezone: chrono_tz::Tz) -> DateTime<Utc> {
        let next = date + Days::new(1);
        let local = next.and_time(self.at);
        let instant = match timezone.from_local_datetime(&local) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t,
            // A gap is at most a few hours: the first minute that exists after it.
            LocalResult::None => (1..=180)
                .find_map(|m| {
                    timezone
                        .from_local_datetime(&(local + chrono::Duration::minutes(m)))
                        .earliest()
                })
                .expect("a time zone's gap ends within three hours"),
        };
        instant.with_timezone(&Utc)
    }

    /// The newest day whose deadline has passed at `now`.
    pub fn last_due_day(&self, now: DateTime<Utc>, timezone: chrono_tz::Tz) -> NaiveDate {
        let today = now.with_timezone(&timezone).date_naive();
        // Yesterday is due today at `at`; the day before yesterday was due by yesterday's.
        let yesterday = today - Days::new(1);
        if self.deadline(yesterday, timezone) <= now {
            yesterday
        } else {
            yesterday - Days::new(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a test instant")
            .with_timezone(&Utc)
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("a test date")
    }

    #[test]
    fn a_day_is_due_at_its_time_on_the_next_day() {
        let due = Due::parse("06:00").expect("06:00");
        assert_eq!(due.text(), "06:00");
        assert_eq!(
            due.deadline(day("2023-01-01"), chrono_tz::UTC),
            utc("2023-01-02T06:00:00Z")
        );
        // Paris is UTC+1 in winter.
        assert_eq!(
            due.deadline(day("2023-01-01"), chrono_tz::Europe::Paris),
            utc("2023-01-02T05:00:00Z")
        );
        assert_eq!(
            due.last_due_day(utc("2023-01-02T05:59:59Z"), chrono_tz::UTC),
            day("2022-12-31")
        );
        assert_eq!(
            due.last_due_day(utc("2023-01-02T06:00:00Z"), chrono_tz::UTC),
            day("2023-01-01")
        );
    }

    #[test]
    fn a_time_skipped_by_summer_time_falls_due_after_the_gap() {
        // Paris skipped 02:00–03:00 on 2023-03-26.
        let due = Due::parse("02:30").expect("02:30");
        assert_eq!(
            due.deadline(day("2023-03-25"), chrono_tz::Europe::Paris),
            utc("2023-03-26T01:00:00Z")
        );
    }

    #[test]
    fn a_due_time_is_hours_and_minutes() {
        for bad in ["6am", "25:00", "06", ""] {
            let error = Due::parse(bad).expect_err(bad);
            assert!(error.contains("HH:MM"), "{error}");
        }
    }
}
