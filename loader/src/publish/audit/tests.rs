use std::sync::Arc;

use arrow_array::{RecordBatch, TimestampMicrosecondArray};
use chrono::NaiveDate;

use super::*;

fn day_of(rows_per_minute: i64, minutes: i64) -> Facts {
    let first = NaiveDate::from_ymd_opt(2023, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("a time")
        .and_utc()
        .timestamp()
        / 60;
    Facts {
        rows: rows_per_minute * minutes,
        per_minute: (first..first + minutes)
            .map(|m| (m, rows_per_minute))
            .collect(),
        ..Facts::default()
    }
}

fn names(departments: i64) -> NameCounts {
    NameCounts {
        department_names: departments,
        sensor_serials: 1876,
        product_names: 1000,
    }
}

#[test]
fn the_committed_defaults_parse() {
    let config = AuditConfig::defaults();
    assert_eq!(
        config.rows_per_minute,
        Some(RowsPerMinute {
            severity: Severity::Fail,
            expected: 1914
        })
    );
    assert_eq!(config.change.map(|c| c.severity), Some(Severity::Warn));
}

#[test]
fn a_wrong_row_count_names_the_check_and_its_numbers() {
    let results = judge(&AuditConfig::defaults(), &day_of(1, 1440), names(100), None);
    let refused: Vec<String> = results
        .iter()
        .filter(|r| r.refuses())
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        refused,
        ["rows per minute: 1,440 of 1,440 minutes hold 1 row, expected 1,914"]
    );
}

#[test]
fn the_dataset_passes_every_default_check() {
    let results = judge(
        &AuditConfig::defaults(),
        &day_of(1914, 1440),
        names(100),
        Some(CurrentVersion {
            rows: 1914 * 1440,
            names: Some(names(100)),
        }),
    );
    assert_eq!(results.len(), 5);
    assert!(results.iter().all(|r| r.passed), "{results:?}");
    assert_eq!(results[0].detail, "1,440 of 1,440 minutes hold 1,914 rows");
}

#[test]
fn nulls_and_expiries_are_counted_per_column() {
    let mut facts = day_of(1914, 2);
    facts.nulls[3] = 7;
    facts.expire_not_after_create = 2;
    let results = judge(&AuditConfig::defaults(), &facts, names(100), None);
    assert_eq!(
        results[1].to_string(),
        "nulls per column: product_name has 7 (of 3,828 rows), at most 0 allowed"
    );
    assert_eq!(
        results[2].to_string(),
        "product_expire after create_at: 2 of 3,828 rows have product_expire at or before create_at"
    );
    assert!(results[1].refuses() && results[2].refuses());
}

#[test]
fn a_change_beyond_the_threshold_warns() {
    let results = judge(
        &AuditConfig::defaults(),
        &day_of(1914, 1440),
        names(100),
        Some(CurrentVersion {
            rows: 1000 * 1440,
            names: Some(names(100)),
        }),
    );
    let change = results.last().expect("the change check");
    assert!(!change.passed && !change.refuses());
    assert_eq!(
        change.detail,
        "rows 1,440,000 → 2,756,160 (+91.4 %); at most ±5 % allowed"
    );
}

#[test]
fn a_bad_file_is_refused_with_its_line() {
    let error = AuditConfig::parse("[rows_per_minute]\nseverity = \"loud\"\n", "audits.toml")
        .expect_err("an unknown severity");
    let message = error.to_string();
    assert!(
        message.starts_with("the audit file audits.toml is not valid"),
        "{message}"
    );
    assert!(message.contains("line 2"), "{message}");
    let error = AuditConfig::parse("[rows_per_minutes]\n", "audits.toml").expect_err("a typo");
    assert!(error.to_string().contains("rows_per_minutes"), "{error}");
}

/// A normalised batch: the table's columns, timestamps in microseconds.
fn batch(
    created: &[Option<i64>],
    expires: &[Option<i64>],
    departments: &[Option<&str>],
) -> RecordBatch {
    use arrow_array::{ArrayRef, StringArray};
    let text = |values: &[Option<&str>]| Arc::new(StringArray::from(values.to_vec())) as ArrayRef;
    let time = |values: &[Option<i64>]| {
        Arc::new(TimestampMicrosecondArray::from(values.to_vec())) as ArrayRef
    };
    let n = created.len();
    RecordBatch::try_new(
        crate::copy::convert::copy_schema(&crate::warehouse::table::Table::sample()),
        vec![
            text(departments),
            text(&vec![Some("s"); n]),
            time(created),
            text(&vec![Some("p"); n]),
            time(expires),
        ],
    )
    .expect("a batch")
}

#[test]
fn facts_are_counted_as_the_rows_stream_by() {
    const MINUTE: i64 = 60_000_000;
    let t0 = 1_672_531_200_000_000; // 2023-01-01 00:00
    let mut facts = Facts::default();
    facts.add(&batch(
        &[Some(t0), Some(t0 + 1), Some(t0 + MINUTE)],
        &[Some(t0 + 86_400 * 1_000_000), Some(t0), None],
        &[Some("d"), None, Some("d")],
    ));
    let mut other = Facts::default();
    other.add(&batch(&[Some(t0 + MINUTE)], &[Some(t0)], &[Some("d")]));
    facts.merge(other);
    assert_eq!(facts.rows, 4);
    assert_eq!(
        facts.per_minute.values().copied().collect::<Vec<_>>(),
        [2, 2],
        "two rows in each of two minutes"
    );
    assert_eq!(facts.nulls, [1, 0, 0, 0, 1]);
    // At create_at, and before it.
    assert_eq!(facts.expire_not_after_create, 2);
}
