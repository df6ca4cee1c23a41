use super::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

#[test]
fn the_sample_pattern_is_a_minute_a_file_in_one_flat_folder() {
    let pattern = FilePattern::parse("%Y-%m-%d %H:%M:%S.parquet").expect("pattern");
    assert_eq!(pattern.cadence(), Cadence::Minute);
    assert!(!pattern.has_glob());
    assert_eq!(pattern.day_folder(date(2023, 1, 1)), "");
    assert!(!pattern.folder_is_the_days_own());
    assert_eq!(pattern.day_name_prefix(date(2023, 1, 1)), "2023-01-01");
    assert_eq!(
        pattern.match_path("2023-01-01 13:05:00.parquet"),
        Some(Matched {
            date: date(2023, 1, 1),
            slot: Some(785)
        })
    );
    // Only the canonical spelling: seconds read 00, fields have their width.
    assert_eq!(pattern.match_path("2023-01-01 13:05:01.parquet"), None);
    assert_eq!(pattern.match_path("2023-01-01 24:00:00.parquet"), None);
    assert_eq!(pattern.match_path("2023-02-30 00:00:00.parquet"), None);
    assert_eq!(pattern.match_path("2023-01-01 00:00:00 (1).parquet"), None);
    assert_eq!(
        pattern.path_of(date(2023, 1, 1), 785),
        "2023-01-01 13:05:00.parquet"
    );
}

#[test]
fn hourly_daily_and_hive_layouts() {
    let hourly = FilePattern::parse("%Y/%m/%d/%H.parquet").expect("hourly");
    assert_eq!(hourly.cadence(), Cadence::Hour);
    assert_eq!(hourly.day_folder(date(2024, 3, 9)), "2024/03/09");
    assert!(hourly.folder_is_the_days_own());
    assert_eq!(hourly.depth_below_day_folder(date(2024, 3, 9)), 1);
    assert_eq!(
        hourly
            .match_path("2024/03/09/17.parquet")
            .and_then(|m| m.slot),
        Some(17)
    );

    let daily = FilePattern::parse("%Y-%m-%d.parquet").expect("daily");
    assert_eq!(daily.cadence(), Cadence::Day);
    assert_eq!(
        daily.match_path("2024-03-09.parquet").map(|m| m.slot),
        Some(Some(0))
    );

    let hive = FilePattern::parse("year=%Y/month=%m/day=%d/*.parquet").expect("hive");
    assert!(hive.has_glob());
    assert_eq!(
        hive.day_folder(date(2024, 3, 9)),
        "year=2024/month=03/day=09"
    );
    assert_eq!(
        hive.match_path("year=2024/month=03/day=09/part-0001-abc.parquet"),
        Some(Matched {
            date: date(2024, 3, 9),
            slot: None
        })
    );
    assert_eq!(
        hive.match_path("year=2024/month=03/day=09/sub/x.parquet"),
        None
    );
    assert_eq!(hive.match_path("year=2024/month=03/day=09/_SUCCESS"), None);

    let dt = FilePattern::parse("dt=%Y-%m-%d/*.parquet").expect("dt");
    assert_eq!(dt.day_folder(date(2024, 3, 9)), "dt=2024-03-09");
}

#[test]
fn a_pattern_that_cannot_name_a_day_is_refused_saying_why() {
    for (text, why) in [
        ("%Y-%m.parquet", "name the day"),
        ("%Y-%m-%d %M.parquet", "%M needs %H"),
        ("%Y-%m-%d/%H-*.parquet", "glob"),
        ("/data/%Y-%m-%d.parquet", "relative"),
        ("%Y-%m-%d-%j.parquet", "%j is not a field"),
        ("%Y-%m-%d-%d.parquet", "twice"),
    ] {
        let error = FilePattern::parse(text).expect_err(text);
        assert!(error.contains(why), "{text}: {error}");
    }
}
