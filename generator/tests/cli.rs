//! The `generator` binary as a user runs it: a whole day, and clear refusals.

use std::path::Path;
use std::process::{Command, Output};

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn generator(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_generator"))
        .args(args)
        .output()
        .expect("the generator runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn read(path: &Path) -> arrow_array::RecordBatch {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.with_batch_size(4096).build())
        .expect("parquet");
    reader.next().expect("a batch").expect("decodes")
}

#[test]
fn a_date_writes_its_day_and_its_first_file_equals_the_golden_one() {
    let out = tempfile::tempdir().expect("dir");
    let output = generator(&[
        "--date",
        "2023-01-02",
        "--out",
        &out.path().to_string_lossy(),
        "--jobs",
        "2",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("1440 files written, 0 skipped, 2756160 rows"),
        "{stdout}"
    );
    assert_eq!(std::fs::read_dir(out.path()).expect("list").count(), 1440);

    let name = "2023-01-02 00:00:00.parquet";
    let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let (ours, golden) = (read(&out.path().join(name)), read(&golden));
    assert_eq!(ours.columns(), golden.columns());

    // Run again: everything is kept and counted as skipped.
    let again = generator(&[
        "--date",
        "2023-01-02",
        "--out",
        &out.path().to_string_lossy(),
    ]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 files written, 1440 skipped"));
}

#[test]
fn a_minute_before_the_dataset_is_refused() {
    let output = generator(&["--from", "2022-12-31 23:59", "--to", "2023-01-01 00:00"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains(
            "error: 2022-12-31 23:59:00 is before the first minute of the dataset, 2023-01-01 00:00"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_unparseable_minute_is_refused_with_the_expected_format() {
    let output = generator(&["--from", "yesterday"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("expected \"YYYY-MM-DD HH:MM\""),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_unwritable_directory_is_refused() {
    // A path below a regular file can never be created, even by root.
    let file = tempfile::NamedTempFile::new().expect("file");
    let out = file.path().join("data");
    let output = generator(&["--date", "2023-01-01", "--out", &out.to_string_lossy()]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains(&format!(
            "error: cannot create the output directory {}",
            out.display()
        )),
        "{message}"
    );
}
