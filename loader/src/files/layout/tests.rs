use std::fs::File;

use super::*;
use crate::files::pattern::Cadence;

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, 9).expect("date")
}

/// A source directory holding empty files at these paths.
fn source_of(paths: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    for path in paths {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folders");
        File::create(path).expect("file");
    }
    dir
}

fn list(layout: &Layout, root: &Path) -> Result<DayFiles, LoadError> {
    let Layout::Pattern { pattern, complete } = layout else {
        panic!("a pattern layout");
    };
    list_day_by_pattern(root, pattern, complete, layout.rule(), date())
}

fn layout(pattern: &str, complete: Option<Completeness>) -> Layout {
    Layout::new(FilePattern::parse(pattern).expect("pattern"), complete).expect("layout")
}

#[test]
fn an_hourly_day_is_whole_with_its_24_hours() {
    let hourly = layout("%Y/%m/%d/%H.parquet", None);
    let hours: Vec<String> = (0..24)
        .map(|h| format!("2024/03/09/{h:02}.parquet"))
        .collect();
    let mut paths: Vec<&str> = hours.iter().map(String::as_str).collect();
    paths.push("2024/03/10/00.parquet");
    let source = source_of(&paths);
    let day = list(&hourly, source.path()).expect("listed");
    assert_eq!(day.judge(false).expect("whole").count(), 0);
    let files = day.regular_files().expect("files");
    assert_eq!(files.len(), 24);
    assert!(files[23].ends_with("2024/03/09/23.parquet"));

    let source = source_of(&paths[..20]);
    let error = list(&hourly, source.path())
        .expect("listed")
        .judge(false)
        .expect_err("incomplete");
    assert_eq!(
        error.to_string(),
        "2024-03-09 is incomplete: 4 of its 24 hours have no file (20:00, 21:00, 22:00, \
         23:00); load it with allow_partial=true (--allow-partial) to replace the day with \
         the hours there are"
    );
}

#[test]
fn a_hive_day_is_whole_once_its_marker_is_written() {
    let hive = layout(
        "year=%Y/month=%m/day=%d/*.parquet",
        Some(Completeness::Marker("_SUCCESS".into())),
    );
    assert_eq!(hive.rule().cadence, None);
    let parts = [
        "year=2024/month=03/day=09/part-1.parquet",
        "year=2024/month=03/day=09/part-0.parquet",
        "year=2024/month=03/day=09/_committed_123",
    ];
    let source = source_of(&parts);
    let unfinished = list(&hive, source.path()).expect("listed").judge(false);
    let error = unfinished.expect_err("no marker");
    assert!(error.to_string().contains("has no _SUCCESS yet"), "{error}");
    File::create(source.path().join("year=2024/month=03/day=09/_SUCCESS")).expect("marker");
    let day = list(&hive, source.path()).expect("listed");
    day.judge(false).expect("whole");
    let files = day.regular_files().expect("files");
    assert_eq!(files.len(), 2);
    assert!(files[0].ends_with("part-0.parquet"), "in name order");
}

#[test]
fn strays_make_a_day_ambiguous_in_its_own_folder_or_a_shared_one() {
    let hive = layout("dt=%Y-%m-%d/*.parquet", Some(Completeness::Any));
    let source = source_of(&["dt=2024-03-09/a.parquet", "dt=2024-03-09/a.parquet.bak"]);
    let error = list(&hive, source.path())
        .expect("listed")
        .judge(false)
        .expect_err("ambiguous");
    assert!(error.to_string().contains("a.parquet.bak"), "{error}");

    let daily = layout("%Y-%m-%d.parquet", None);
    assert_eq!(daily.rule().cadence, Some(Cadence::Day));
    let source = source_of(&[
        "2024-03-09.parquet",
        "2024-03-10.parquet",
        "readme.txt",
        "2024-03-09 (1).parquet",
    ]);
    let error = list(&daily, source.path())
        .expect("listed")
        .judge(false)
        .expect_err("ambiguous");
    assert!(
        error.to_string().contains("2024-03-09 (1).parquet"),
        "{error}"
    );
}

#[test]
fn a_glob_pattern_must_say_when_its_day_is_whole() {
    let pattern = FilePattern::parse("dt=%Y-%m-%d/*.parquet").expect("pattern");
    let error = Layout::new(pattern.clone(), None).expect_err("no rule");
    assert!(error.contains("say when a day is whole"), "{error}");
    assert!(Layout::new(pattern, Some(Completeness::All)).is_err());
}

#[test]
fn a_day_without_its_folder_has_no_files() {
    let hourly = layout("%Y/%m/%d/%H.parquet", None);
    let source = source_of(&[]);
    let error = list(&hourly, source.path())
        .expect("listed")
        .judge(false)
        .expect_err("none");
    assert!(matches!(error, LoadError::NoSourceFiles { .. }), "{error}");
    assert!(
        error
            .to_string()
            .ends_with("(expected names like \"2024/03/09/00.parquet\")"),
        "{error}"
    );
}
