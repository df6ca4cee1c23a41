use std::sync::Arc;

use arrow_array::{RecordBatch, TimestampMicrosecondArray};

use super::judge::Judged;
use super::*;
use crate::warehouse::table::Table;

/// Facts of a sample day of `files` files of `rows` rows each.
fn day_of(rows: i64, files: i64) -> Facts {
    let config = AuditConfig::defaults();
    let mut facts = Facts::new(&facts_plan(&Table::sample(), &config).expect("plan"));
    facts.rows = rows * files;
    facts.per_file = vec![rows; files as usize];
    facts
}

fn names(departments: i64) -> NameCounts {
    NameCounts {
        department_names: departments,
        sensor_serials: 1876,
        product_names: 1000,
    }
}

fn judge(facts: &Facts, names: NameCounts, current: Option<CurrentVersion>) -> Vec<AuditResult> {
    let table = Table::sample();
    let judged = Judged {
        facts,
        names: Some(names),
        table: &table,
        unit: "minutes",
    };
    judged.all(&AuditConfig::defaults(), current)
}

#[test]
fn the_committed_defaults_parse() {
    let config = AuditConfig::defaults();
    let names: Vec<&str> = config.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "rows per minute",
            "nulls per column",
            "product_expire after create_at",
            "distinct department names",
            "change against the current version"
        ]
    );
    assert_eq!(
        config.checks[0].kind,
        CheckKind::RowsPerFile {
            min: 1914,
            max: 1914
        }
    );
    assert_eq!(config.checks[4].severity, Severity::Warn);
}

#[test]
fn a_wrong_row_count_names_the_check_and_its_numbers() {
    let results = judge(&day_of(1, 1440), names(100), None);
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
    let current = CurrentVersion {
        rows: 1914 * 1440,
        names: Some(names(100)),
    };
    let results = judge(&day_of(1914, 1440), names(100), Some(current));
    assert_eq!(results.len(), 5);
    assert!(results.iter().all(|r| r.passed), "{results:?}");
    assert_eq!(results[0].detail, "1,440 of 1,440 minutes hold 1,914 rows");
}

#[test]
fn nulls_and_expiries_are_counted_per_column() {
    let mut facts = day_of(1914, 2);
    facts.nulls[3] = 7;
    facts.out_of_order[0].2 = 2;
    let results = judge(&facts, names(100), None);
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
    let current = CurrentVersion {
        rows: 1000 * 1440,
        names: Some(names(100)),
    };
    let results = judge(&day_of(1914, 1440), names(100), Some(current));
    let change = results.last().expect("the change check");
    assert!(!change.passed && !change.refuses());
    assert_eq!(
        change.detail,
        "rows 1,440,000 → 2,756,160 (+91.4 %); at most ±5 % allowed"
    );
}

#[test]
fn a_bad_file_is_refused_with_its_line_or_its_check() {
    let error = AuditConfig::parse(
        "[[check]]\nkind = \"nulls\"\nseverity = \"loud\"\n",
        "audits.toml",
    )
    .expect_err("an unknown severity");
    let message = error.to_string();
    assert!(
        message.starts_with("the audit file audits.toml is not valid"),
        "{message}"
    );
    assert!(message.contains("line 3"), "{message}");
    for (text, expected) in [
        (
            "kind = \"rows_per_minutes\"",
            "kind \"rows_per_minutes\" is not a check",
        ),
        (
            "kind = \"distinct\"\ncolumn = \"x\"\nmin = 3\nmax = 2",
            "min (3) is above max (2)",
        ),
        (
            "kind = \"order\"\nbefore = \"a\"",
            "order takes before and after",
        ),
        (
            "kind = \"range\"\ncolumn = \"x\"",
            "range takes min and/or max",
        ),
        (
            "kind = \"change\"\nmax_percent = -1",
            "max_percent must be 0 or more",
        ),
    ] {
        let file = format!("[[check]]\nseverity = \"fail\"\n{text}\n");
        let error = AuditConfig::parse(&file, "a.toml")
            .expect_err(text)
            .to_string();
        assert!(error.contains(expected), "{text}: {error}");
    }
}

#[test]
fn a_check_of_a_column_the_table_lacks_is_refused_before_the_load() {
    let config = AuditConfig::parse(
        "[[check]]\nkind = \"range\"\ncolumn = \"fare\"\nseverity = \"fail\"\nmin = 0\n",
        "a.toml",
    )
    .expect("valid");
    let error = facts_plan(&Table::sample(), &config).expect_err("no fare column");
    assert_eq!(
        error,
        "check \"fare within range\": \"fare\" is not a column of dwh.data_sample"
    );
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
        crate::copy::convert::copy_schema(&Table::sample()),
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
    let plan = facts_plan(&Table::sample(), &AuditConfig::defaults()).expect("plan");
    let mut facts = Facts::new(&plan);
    facts.add(&batch(
        &[Some(t0), Some(t0 + 1), Some(t0 + MINUTE)],
        &[Some(t0 + 86_400 * 1_000_000), Some(t0), None],
        &[Some("d"), None, Some("d")],
    ));
    let mut other = Facts::new(&plan);
    other.add(&batch(&[Some(t0 + MINUTE)], &[Some(t0)], &[Some("d")]));
    facts.merge(other);
    assert_eq!(facts.rows, 4);
    assert_eq!(facts.nulls, [1, 0, 0, 0, 1]);
    // At create_at, and before it.
    assert_eq!(facts.out_of_order, [(2, 4, 2)]);
    assert!(
        facts.distinct.is_empty(),
        "the sample's names are counted anyway"
    );
}
