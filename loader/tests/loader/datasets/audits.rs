//! A declared dataset's own audit: checks configured by column, judged before the swap.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
use loader::{AuditConfig, LoadError, LoadOptions};
use sqlx::PgPool;

use super::{batch, datasets, load_with, write};

const TOML: &str = r#"
[[dataset]]
name = "fares"
table = "taxi.fares"
source = "fares"
files = "%Y/%m/%d/%H.parquet"
complete = "any"
partition_column = "at"
"#;

const AUDIT: &str = r#"
[[check]]
kind = "rows_per_file"
severity = "fail"
min = 2
max = 3

[[check]]
kind = "range"
column = "fare"
severity = "fail"
min = 0
max = 500

[[check]]
kind = "distinct"
column = "zone"
severity = "warn"
min = 2
max = 2

[[check]]
kind = "order"
before = "at"
after = "dropoff"
severity = "fail"

[[check]]
kind = "nulls"
columns = ["fare"]
severity = "fail"
"#;

/// 2024-03-09 00:00 in µs since 1970.
const DAY_US: i64 = 1_709_942_400_000_000;

fn hour(rows: &[(f64, &str)], dropoff_after: i64) -> arrow_array::RecordBatch {
    let at: Vec<i64> = (0..rows.len() as i64).map(|i| DAY_US + i).collect();
    let dropoff: Vec<i64> = at.iter().map(|t| t + dropoff_after).collect();
    batch(vec![
        (
            "at",
            Arc::new(TimestampMicrosecondArray::from(at)) as ArrayRef,
        ),
        (
            "dropoff",
            Arc::new(TimestampMicrosecondArray::from(dropoff)),
        ),
        (
            "fare",
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.0))),
        ),
        (
            "zone",
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
        ),
        (
            "id",
            Arc::new(Int64Array::from_iter_values(0..rows.len() as i64)),
        ),
    ])
}

async fn load_audited(
    pool: &PgPool,
    dir: &std::path::Path,
) -> Result<loader::LoadReport, LoadError> {
    let datasets = datasets(TOML, dir);
    let fares = datasets.get("fares").expect("fares");
    let options = LoadOptions {
        audits: Some(Arc::new(
            AuditConfig::parse(AUDIT, "fares.toml").expect("valid"),
        )),
        ..LoadOptions::default()
    };
    load_with(pool, fares, "2024-03-09", &options).await
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_datasets_checks_judge_its_own_columns(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("fares/2024/03/09/00.parquet");
    write(&path, &hour(&[(12.5, "a"), (30.0, "b"), (7.0, "a")], 60));
    let report = load_audited(&pool, dir.path()).await.expect("passes");
    let shown: Vec<String> = report.audits.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "rows per file: 1 of 1 hours hold 2 to 3 rows",
            "fare within range: 0 of 3 rows have fare outside 0 to 500",
            "distinct zone values: 2 distinct, expected 2",
            "dropoff after at: 0 of 3 rows have dropoff at or before at",
            "nulls per column: no column has more than 0 (of 3 rows)",
        ]
    );

    write(&path, &hour(&[(12.5, "a"), (900.0, "a"), (7.0, "a")], 0));
    let error = load_audited(&pool, dir.path()).await.expect_err("refused");
    let LoadError::AuditFailed { results, .. } = &error else {
        panic!("{error}");
    };
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed)
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        failed,
        [
            "fare within range: 1 of 3 rows have fare outside 0 to 500",
            "distinct zone values: 1 distinct, expected 2",
            "dropoff after at: 3 of 3 rows have dropoff at or before at",
        ]
    );
}
