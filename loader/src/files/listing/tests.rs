use std::fs::File;

use super::*;
use crate::files::pattern::Cadence;
use crate::warehouse::day::MINUTES_PER_DAY;

fn day(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

/// A directory holding empty files with these names.
fn dir_of(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    for name in names {
        File::create(dir.path().join(name)).expect("file");
    }
    dir
}

fn whole_day(date: &str) -> Vec<String> {
    (0..MINUTES_PER_DAY as u16)
        .map(|m| {
            format!(
                "{date} {}.parquet",
                Cadence::Minute.time_of(m).format("%H:%M:%S")
            )
        })
        .collect()
}

#[test]
fn a_whole_day_is_its_1440_canonical_files_in_minute_order() {
    let mut names = whole_day("2023-01-01");
    names.extend(["2023-01-02 00:00:00.parquet".into(), "notes.txt".into()]);
    names.push(".2023-01-01 00:00:00.parquet.123.tmp".into());
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let dir = dir_of(&refs);
    let files = list_day(dir.path(), day("2023-01-01")).expect("listed");
    assert_eq!(
        files.judge(false).expect("whole"),
        MissingMinutes::default()
    );
    let paths = files.regular_files().expect("regular");
    assert_eq!(paths.len(), MINUTES_PER_DAY);
    assert!(paths[0].ends_with("2023-01-01 00:00:00.parquet"));
    assert!(paths[1439].ends_with("2023-01-01 23:59:00.parquet"));
}

#[test]
fn names_say_their_minute_or_the_day_they_make_ambiguous() {
    let date = day("2023-01-01");
    assert_eq!(
        parse_minute_file("2023-01-01 00:03:00.parquet"),
        Some((date, 3))
    );
    assert_eq!(
        stray_day("2023-01-01 00:03:00.parquet"),
        None,
        "a minute file"
    );
    assert_eq!(stray_day("2023-01-01 00:03:00 (1).parquet"), Some(date));
    assert_eq!(stray_day("2023-01-01.bak"), Some(date));
    assert_eq!(
        stray_day(".2023-01-01 00:03:00.parquet.tmp"),
        None,
        "a writer's"
    );
    assert_eq!(
        stray_day("2023-02-30 00:00:00.parquet"),
        None,
        "no such day"
    );
    assert_eq!(stray_day("notes.txt"), None);
}

#[test]
fn missing_minutes_make_the_day_incomplete_unless_allowed() {
    let names = whole_day("2023-01-01");
    let kept: Vec<&str> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 5 && !(800..812).contains(i))
        .map(|(_, n)| n.as_str())
        .collect();
    let dir = dir_of(&kept);
    let files = list_day(dir.path(), day("2023-01-01")).expect("listed");
    let error = files.judge(false).expect_err("incomplete");
    assert_eq!(
        error.to_string(),
        "2023-01-01 is incomplete: 13 of its 1,440 minutes have no file (00:05, 13:20, \
         13:21, 13:22, 13:23 … and 8 more); load it with allow_partial=true \
         (--allow-partial) to replace the day with the minutes there are"
    );
    let missing = files.judge(true).expect("allowed");
    assert_eq!(missing.count(), 13);
    assert_eq!(missing.times()[0], Cadence::Minute.time_of(5));
}

#[test]
fn other_names_of_the_day_make_it_ambiguous() {
    for stray in [
        "2023-01-01 00:00:00 (1).parquet",
        "2023-01-01 00:00:00.parquet.bak.parquet",
        "2023-01-01 0:00:00.parquet",
        "2023-01-01 00:00:30.parquet",
        "2023-01-01 24:00:00.parquet",
        "2023-01-01 00:60:00.parquet",
        "2023-01-01 0a:00:00.parquet",
        "2023-01-01 00:00:00.Parquet",
        "2023-01-01.parquet",
    ] {
        let mut names = whole_day("2023-01-01");
        names.push(stray.to_owned());
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let dir = dir_of(&refs);
        let error = list_day(dir.path(), day("2023-01-01"))
            .expect("listed")
            .judge(true)
            .expect_err(stray);
        assert_eq!(
            error.to_string(),
            format!(
                "2023-01-01 is ambiguous: these files are named after the day but are not \
                 its minute files: {stray:?}; move them out of the data directory"
            )
        );
    }
}

#[test]
fn a_name_that_is_not_a_regular_file_is_refused_unopened() {
    let dir = dir_of(&["2023-01-01 00:00:00.parquet"]);
    std::fs::create_dir(dir.path().join("2023-01-01 00:01:00.parquet")).expect("dir");
    let files = list_day(dir.path(), day("2023-01-01")).expect("listed");
    let error = files.regular_files().expect_err("a directory");
    assert!(
        error.to_string().ends_with(
            "2023-01-01 00:01:00.parquet: is a directory, not a regular file; it is not read"
        ),
        "{error}"
    );
}

#[test]
fn a_day_without_files_is_an_error() {
    let dir = dir_of(&["2023-01-02 00:00:00.parquet"]);
    let error = list_day(dir.path(), day("2023-01-01"))
        .expect("listed")
        .judge(true)
        .expect_err("none");
    assert!(matches!(error, LoadError::NoSourceFiles { .. }), "{error}");
}

#[test]
fn list_days_finds_every_day_with_its_files() {
    let dir = dir_of(&[
        "2023-01-01 00:01:00.parquet",
        "2023-01-01 00:00:00.parquet",
        "2023-01-03 12:00:00.parquet",
        "2023-1-02 00:00:00.parquet",
        "notes.txt",
    ]);
    let days = list_days(dir.path()).expect("days");
    let found: Vec<(NaiveDate, usize)> =
        days.values().map(|d| (d.date(), d.file_count())).collect();
    assert_eq!(found, [(day("2023-01-01"), 2), (day("2023-01-03"), 1)]);
    assert!(matches!(
        list_days(&dir.path().join("missing")),
        Err(LoadError::SourceDir { .. })
    ));
}
