//! The generator against the reference script's own files: every value, the file names,
//! the schema and the metadata pandas relies on.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use arrow_array::RecordBatch;
use chrono::NaiveDateTime;
use generator::{Dataset, FileOutcome, GenerateOptions, MinuteRange, generate};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, Encoding};
use parquet::file::reader::{FileReader, SerializedFileReader};

/// (file index, name) of each golden file.
const GOLDEN: [(u32, &str); 4] = [
    (0, "2023-01-01 00:00:00.parquet"),
    (1, "2023-01-01 00:01:00.parquet"),
    (2, "2023-01-01 00:02:00.parquet"),
    (1440, "2023-01-02 00:00:00.parquet"),
];

fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn read_single_batch(path: &Path) -> RecordBatch {
    let file = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.with_batch_size(1 << 20).build())
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let batch = reader.next().expect("one batch").expect("decodes");
    assert!(
        reader.next().is_none(),
        "{} holds one batch",
        path.display()
    );
    batch
}

/// Compares every value of every column, naming the first differing row on failure.
fn assert_same_values(ours: &RecordBatch, golden: &RecordBatch, what: &str) {
    assert_eq!(ours.num_rows(), golden.num_rows(), "{what}: row count");
    assert_eq!(
        ours.num_columns(),
        golden.num_columns(),
        "{what}: column count"
    );
    for (index, field) in golden.schema().fields().iter().enumerate() {
        let column = ours.column_by_name(field.name()).expect("column present");
        let golden_column = golden.column(index);
        assert_eq!(
            column.data_type(),
            golden_column.data_type(),
            "{what}: {} type",
            field.name()
        );
        if column.as_ref() != golden_column.as_ref() {
            let row = (0..golden.num_rows())
                .find(|&r| column.slice(r, 1).as_ref() != golden_column.slice(r, 1).as_ref());
            panic!(
                "{what}: column {} differs first at row {row:?}",
                field.name()
            );
        }
    }
}

fn minute(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("test minute")
}

#[test]
fn every_value_of_every_golden_file_matches_the_library() {
    let dataset = Dataset::new(0);
    for (index, name) in GOLDEN {
        let golden = read_single_batch(&golden_path(name));
        assert_same_values(&dataset.minute_batch(index), &golden, name);
    }
}

#[test]
fn generated_files_hold_the_golden_values_under_the_golden_names() {
    let out = tempfile::tempdir().expect("temp dir");
    let options = GenerateOptions {
        out: generator::Output::Dir(out.path().to_path_buf()),
        range: MinuteRange::between(minute("2023-01-01 00:00"), minute("2023-01-01 00:02"))
            .expect("range"),
        seed: 0,
        jobs: 2,
        force: false,
    };
    let summary = generate(&options, &|_| {}, &AtomicBool::new(false)).expect("generates");
    assert_eq!((summary.files_written, summary.rows), (3, 3 * 1914));
    for (_, name) in &GOLDEN[..3] {
        let ours = read_single_batch(&out.path().join(name));
        assert_same_values(&ours, &read_single_batch(&golden_path(name)), name);
    }
    let mut names: Vec<String> = std::fs::read_dir(out.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        GOLDEN[..3]
            .iter()
            .map(|(_, n)| n.to_string())
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_range_starting_later_gives_the_values_of_the_full_run() {
    let out = tempfile::tempdir().expect("temp dir");
    let options = GenerateOptions {
        out: generator::Output::Dir(out.path().to_path_buf()),
        range: MinuteRange::between(minute("2023-01-02 00:00"), minute("2023-01-02 00:00"))
            .expect("range"),
        seed: 0,
        jobs: 1,
        force: false,
    };
    generate(&options, &|_| {}, &AtomicBool::new(false)).expect("generates");
    let name = "2023-01-02 00:00:00.parquet";
    assert_same_values(
        &read_single_batch(&out.path().join(name)),
        &read_single_batch(&golden_path(name)),
        name,
    );
}

#[test]
fn existing_files_are_kept_unless_forced() {
    let out = tempfile::tempdir().expect("temp dir");
    let name = "2023-01-01 00:00:00.parquet";
    std::fs::write(out.path().join(name), b"keep me").expect("seed file");
    let mut options = GenerateOptions {
        out: generator::Output::Dir(out.path().to_path_buf()),
        range: MinuteRange::between(minute("2023-01-01 00:00"), minute("2023-01-01 00:00"))
            .expect("range"),
        seed: 0,
        jobs: 1,
        force: false,
    };
    let outcomes = std::sync::Mutex::new(Vec::new());
    let record = |o: FileOutcome| outcomes.lock().expect("lock").push(o);
    let summary = generate(&options, &record, &AtomicBool::new(false)).expect("runs");
    assert_eq!((summary.files_written, summary.files_skipped), (0, 1));
    assert_eq!(
        std::fs::read(out.path().join(name)).expect("read"),
        b"keep me"
    );

    options.force = true;
    let summary = generate(&options, &record, &AtomicBool::new(false)).expect("runs");
    assert_eq!((summary.files_written, summary.files_skipped), (1, 0));
    assert_same_values(
        &read_single_batch(&out.path().join(name)),
        &read_single_batch(&golden_path(name)),
        name,
    );
    assert_eq!(outcomes.lock().expect("lock")[0], FileOutcome::Skipped);
}

#[test]
fn physical_layout_and_metadata_match_the_reference() {
    let out = tempfile::tempdir().expect("temp dir");
    let bytes =
        generator::parquet_file::encode(&Dataset::new(0).minute_batch(0), 0).expect("encodes");
    let ours_path = out.path().join("ours.parquet");
    std::fs::write(&ours_path, bytes).expect("write");
    let ours = SerializedFileReader::new(File::open(&ours_path).expect("open")).expect("parse");
    let golden_file = File::open(golden_path(GOLDEN[0].1)).expect("open golden");
    let golden = SerializedFileReader::new(golden_file).expect("parse golden");
    let (ours, golden) = (ours.metadata(), golden.metadata());

    assert_eq!(ours.num_row_groups(), 1);
    assert_eq!(
        ours.file_metadata().version(),
        golden.file_metadata().version()
    );
    assert_eq!(
        ours.file_metadata().num_rows(),
        golden.file_metadata().num_rows()
    );
    // Same columns, physical and logical types, repetition (optional) and order.
    assert_eq!(
        ours.file_metadata().schema_descr().root_schema(),
        golden.file_metadata().schema_descr().root_schema()
    );
    for column in ours.row_group(0).columns() {
        let path = column.column_path().string();
        assert_eq!(
            column.compression(),
            Compression::SNAPPY,
            "{path} compression"
        );
        assert!(
            column.dictionary_page_offset().is_some(),
            "{path} has a dictionary page"
        );
        let encodings: Vec<Encoding> = column.encodings().collect();
        assert!(
            encodings.contains(&Encoding::RLE_DICTIONARY),
            "{path} encodings {encodings:?}"
        );
        let stats = column
            .statistics()
            .unwrap_or_else(|| panic!("{path} has statistics"));
        assert!(
            stats.min_bytes_opt().is_some() && stats.max_bytes_opt().is_some(),
            "{path} min/max"
        );
        assert_eq!(stats.null_count_opt(), Some(0), "{path} null count");
    }

    let pandas = |m: &parquet::file::metadata::ParquetMetaData| -> serde_json::Value {
        let kv = m
            .file_metadata()
            .key_value_metadata()
            .expect("key-value metadata");
        let mut keys: Vec<&str> = kv.iter().map(|k| k.key.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["ARROW:schema", "pandas"]);
        let text = kv
            .iter()
            .find(|k| k.key == "pandas")
            .and_then(|k| k.value.clone());
        let mut doc: serde_json::Value =
            serde_json::from_str(&text.expect("pandas value")).expect("json");
        doc.as_object_mut().expect("object").remove("creator");
        doc
    };
    // Identical but for "creator", which names the writing library.
    assert_eq!(pandas(ours), pandas(golden));
}
