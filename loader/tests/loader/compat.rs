//! Parquet from other writers: the generator's minutes rewritten by pyarrow (every codec,
//! data page v1 and v2, dictionary on and off, INT96 and every timestamp unit, large and
//! view strings, row groups of 7 rows), DuckDB and Polars
//! (`loader/tests/compat/write_variants.py`) each load to exactly the rows of the
//! generator's own files; encrypted ones are refused naming why.
//!
//! The writers are the real tools from PyPI, in the virtualenv that
//! `scripts/install-test-tools.sh` makes (`DWH_TEST_PYTHON` names another Python that has
//! them).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::*;
use loader::LoadOptions;
use sqlx::PgPool;

/// The variants the writer script must produce, so that one it skipped or failed to write
/// cannot pass unnoticed.
const LOADED: [&str; 25] = [
    "pyarrow-none",
    "pyarrow-snappy",
    "pyarrow-gzip",
    "pyarrow-brotli",
    "pyarrow-lz4",
    "pyarrow-zstd",
    "pyarrow-page-v1",
    "pyarrow-page-v2",
    "pyarrow-dict",
    "pyarrow-no-dict",
    "pyarrow-int96",
    "pyarrow-ts-s",
    "pyarrow-ts-ms",
    "pyarrow-ts-us",
    "pyarrow-ts-ns",
    "pyarrow-large-string",
    "pyarrow-string-view",
    "pyarrow-dictionary",
    "pyarrow-row-groups-7",
    "duckdb",
    "duckdb-zstd",
    "duckdb-brotli",
    "polars",
    "polars-brotli",
    "polars-lz4",
];

/// Variants refused, with the column (if any) and what the message must say.
const REFUSED: [(&str, Option<&str>, &str); 2] = [
    (
        "refused-encrypted-footer",
        None,
        "encrypted footer: encrypted Parquet files are not supported",
    ),
    (
        "refused-encrypted-column",
        Some("product_name"),
        "encrypted column: encrypted Parquet files are not supported",
    ),
];

fn python() -> PathBuf {
    std::env::var_os("DWH_TEST_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-venv/bin/python"),
        PathBuf::from,
    )
}

/// Runs the writer script over `source`; returns the variants it wrote, in order.
fn write_variants(source: &Path, out: &Path) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat/write_variants.py");
    let python = python();
    let output = Command::new(&python)
        .arg(&script)
        .arg(source)
        .arg(out)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): run scripts/install-test-tools.sh first, or set \
                 DWH_TEST_PYTHON to a Python with pyarrow, duckdb and polars",
                python.display()
            )
        });
    assert!(
        output.status.success(),
        "{} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn files_from_other_writers_load_to_the_generators_rows(pool: PgPool) {
    let source = minutes_dir("2023-01-01 00:00", "2023-01-01 00:02");
    let out = tempfile::tempdir().expect("temp dir");
    let written = write_variants(source.path(), out.path());
    let expected: Vec<&str> = LOADED
        .iter()
        .copied()
        .chain(REFUSED.iter().map(|(name, ..)| *name))
        .collect();
    assert_eq!(written, expected, "the variants written");

    load(&pool, source.path(), "2023-01-01")
        .await
        .expect("the generator's own files");
    let rows = rows_of_day(&pool, "2023-01-01").await;
    let checksum = checksum_of_day(&pool, "2023-01-01").await;
    assert_eq!(rows, 3 * rows_per_file());

    let mut wrong = Vec::new();
    for variant in LOADED {
        match load(&pool, &out.path().join(variant), "2023-01-01").await {
            Ok(report) if report.rows == rows as u64 => {}
            Ok(report) => wrong.push(format!("{variant}: {} rows", report.rows)),
            Err(error) => wrong.push(format!("{variant}: {error}")),
        }
        if checksum_of_day(&pool, "2023-01-01").await != checksum {
            wrong.push(format!("{variant}: other values than the generator's"));
        }
    }
    assert!(
        wrong.is_empty(),
        "variants not loaded exactly:\n{}",
        wrong.join("\n")
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn encrypted_files_are_refused_by_name(pool: PgPool) {
    let source = minutes_dir("2023-01-01 00:00", "2023-01-01 00:02");
    let out = tempfile::tempdir().expect("temp dir");
    write_variants(source.path(), out.path());
    load(&pool, source.path(), "2023-01-01")
        .await
        .expect("the generator's own files");
    let checksum = checksum_of_day(&pool, "2023-01-01").await;

    let options = LoadOptions {
        force: true,
        ..options()
    };
    for (variant, column, says) in REFUSED {
        let error = load_using(&pool, &out.path().join(variant), "2023-01-01", &options)
            .await
            .expect_err("an encrypted file is refused");
        let input = error
            .input()
            .unwrap_or_else(|| panic!("{variant}: not an input error: {error}"));
        assert!(
            input.file.ends_with("2023-01-01 00:00:00.parquet"),
            "{variant}: {error}"
        );
        assert_eq!(input.column.as_deref(), column, "{variant}: {error}");
        assert!(input.reason.starts_with(says), "{variant}: {error}");
        assert!(!error.to_string().contains("corrupt"), "{error}");
        assert_eq!(checksum_of_day(&pool, "2023-01-01").await, checksum);
        assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
    }
}
