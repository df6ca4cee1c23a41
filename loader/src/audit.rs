//! Audits: checks of a day's rows that run on its staging tables, after the COPY and
//! before the swap (write-audit-publish). A failing check of severity `fail` refuses the
//! load, so readers never see the day; a `warn` is recorded with the job and the version.
//!
//! The checks are configured in a small TOML file (`loader/audits.toml` holds the
//! defaults for the dataset). What they measure ([`Facts`], and the distinct names) is
//! counted in the same pass as the COPY, batch by batch on its way into the staging
//! tables, and judged once every stream has committed its table, before the swap.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use arrow_array::{Array, RecordBatch, TimestampMicrosecondArray};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::error::{LoadError, thousands};
use crate::names::NameCounts;
use crate::table::COLUMNS;

/// The defaults for the dataset, as committed in `loader/audits.toml`.
const DEFAULTS: &str = include_str!("../audits.toml");

/// What a failing check does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Refuse the load.
    Fail,
    /// Publish, and record the finding.
    Warn,
}

/// The checks to run; a check left out of the file is not run.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    pub rows_per_minute: Option<RowsPerMinute>,
    pub nulls: Option<Nulls>,
    pub expire_after_create: Option<ExpireAfterCreate>,
    pub distinct_department_names: Option<DistinctRange>,
    pub change: Option<Change>,
}

/// Every minute present holds `expected` rows.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowsPerMinute {
    pub severity: Severity,
    pub expected: u64,
}

/// At most `max` nulls in each column.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nulls {
    pub severity: Severity,
    #[serde(default)]
    pub max: u64,
}

/// `product_expire` is after `create_at` on every row.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpireAfterCreate {
    pub severity: Severity,
}

/// The number of distinct values lies in `[min, max]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistinctRange {
    pub severity: Severity,
    pub min: i64,
    pub max: i64,
}

/// Rows and distinct names stay within `max_percent` of the current version's.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub severity: Severity,
    pub max_percent: f64,
}

/// The audit file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AuditConfigError {
    #[error("cannot read the audit file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    // toml's message names the line and column, and shows the line.
    #[error("the audit file {path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

impl AuditConfig {
    /// The committed defaults for the dataset.
    pub fn defaults() -> Self {
        Self::parse(DEFAULTS, "loader/audits.toml").expect("the committed audit file is valid")
    }

    /// The audit a setting (`AUDITS_FILE`, `--audits`) names: unset or empty, the committed
    /// defaults; `off`, none; otherwise the TOML file at that path.
    pub fn from_setting(setting: Option<&str>) -> Result<Option<Self>, AuditConfigError> {
        match setting.map(str::trim) {
            None | Some("") => Ok(Some(Self::defaults())),
            Some("off") => Ok(None),
            Some(path) => Self::from_file(Path::new(path)).map(Some),
        }
    }

    /// Reads the checks from a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, AuditConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| AuditConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&text, &shown)
    }

    /// Parses `text`, naming `origin` in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, AuditConfigError> {
        let invalid = |message: String| AuditConfigError::Invalid {
            path: origin.to_owned(),
            message,
        };
        let config: Self = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if let Some(range) = &config.distinct_department_names
            && range.min > range.max
        {
            return Err(invalid(format!(
                "distinct_department_names: min ({}) is above max ({})",
                range.min, range.max
            )));
        }
        if let Some(change) = &config.change
            && (change.max_percent.is_nan() || change.max_percent < 0.0)
        {
            return Err(invalid(format!(
                "change: max_percent must be 0 or more, not {}",
                change.max_percent
            )));
        }
        Ok(config)
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One check's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditResult {
    /// The check's name, e.g. `rows per minute`.
    pub check: String,
    pub severity: Severity,
    pub passed: bool,
    /// What was measured, with the numbers.
    pub detail: String,
}

impl fmt::Display for AuditResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.check, self.detail)
    }
}

impl AuditResult {
    /// A failed check of severity `fail`: the load may not publish.
    pub fn refuses(&self) -> bool {
        !self.passed && self.severity == Severity::Fail
    }
}

/// The day as it stands now, for the change check.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CurrentVersion {
    pub rows: i64,
    pub names: Option<NameCounts>,
}

/// Rows and the three distinct counts (null for a day loaded before they were kept).
type CountsRow = (i64, Option<i64>, Option<i64>, Option<i64>);

/// The day's current version's counts, or `None` for a day not loaded whole.
pub(crate) async fn current_version(
    conn: &mut PgConnection,
    date: NaiveDate,
) -> Result<Option<CurrentVersion>, sqlx::Error> {
    let row: Option<CountsRow> = sqlx::query_as(
        "SELECT rows, distinct_department_names, distinct_sensor_serials, distinct_product_names
         FROM dwh.day_loads WHERE day = $1",
    )
    .bind(date)
    .fetch_optional(conn)
    .await?;
    Ok(
        row.map(|(rows, departments, sensors, products)| CurrentVersion {
            rows,
            names: match (departments, sensors, products) {
                (Some(department_names), Some(sensor_serials), Some(product_names)) => {
                    Some(NameCounts {
                        department_names,
                        sensor_serials,
                        product_names,
                    })
                }
                _ => None,
            },
        }),
    )
}

/// What the audit measures, counted as the rows stream into the staging tables: each
/// normalised batch is looked at on its way to the COPY, so the audit needs no second
/// pass. (Reading the staging tables back with one aggregate pass each cost 19.5 % of a
/// day's load, 760 ms of 3.9 s, in `bench/versions.sh`: twice the audit's budget.)
#[derive(Debug, Default)]
pub(crate) struct Facts {
    rows: i64,
    /// Rows per minute of `create_at` (minutes since the epoch), for the minutes present.
    per_minute: BTreeMap<i64, i64>,
    nulls: [i64; COLUMNS.len()],
    expire_not_after_create: i64,
}

const MICROS_PER_MINUTE: i64 = 60_000_000;

impl Facts {
    /// Counts a normalised batch (columns in table order, timestamps in microseconds).
    pub(crate) fn add(&mut self, batch: &RecordBatch) {
        self.rows += batch.num_rows() as i64;
        for (sum, column) in self.nulls.iter_mut().zip(batch.columns()) {
            *sum += column.null_count() as i64;
        }
        let created = timestamps(batch, "create_at");
        let expires = timestamps(batch, "product_expire");
        // A file's rows share their minute: count runs, not rows, into the map.
        let mut run: Option<(i64, i64)> = None;
        for (created, expires) in created.iter().zip(expires.iter()) {
            let Some(at) = created else { continue };
            if expires.is_some_and(|expires| expires <= at) {
                self.expire_not_after_create += 1;
            }
            let minute = at.div_euclid(MICROS_PER_MINUTE);
            match &mut run {
                Some((current, n)) if *current == minute => *n += 1,
                _ => {
                    if let Some((done, n)) = run.replace((minute, 1)) {
                        *self.per_minute.entry(done).or_default() += n;
                    }
                }
            }
        }
        if let Some((minute, n)) = run {
            *self.per_minute.entry(minute).or_default() += n;
        }
    }

    /// Adds another stream's counts.
    pub(crate) fn merge(&mut self, other: Self) {
        self.rows += other.rows;
        for (minute, n) in other.per_minute {
            *self.per_minute.entry(minute).or_default() += n;
        }
        for (sum, n) in self.nulls.iter_mut().zip(other.nulls) {
            *sum += n;
        }
        self.expire_not_after_create += other.expire_not_after_create;
    }
}

fn timestamps<'b>(batch: &'b RecordBatch, name: &str) -> &'b TimestampMicrosecondArray {
    let index = COLUMNS
        .iter()
        .position(|&(column, _)| column == name)
        .expect("a column of the table");
    batch
        .column(index)
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .expect("normalised timestamps are in microseconds")
}

/// Judges the configured checks on what the COPY counted; every result, passed or not.
pub(crate) fn audit(
    config: &AuditConfig,
    facts: &Facts,
    names: NameCounts,
    current: Option<CurrentVersion>,
) -> Vec<AuditResult> {
    judge(config, facts, names, current)
}

fn judge(
    config: &AuditConfig,
    facts: &Facts,
    names: NameCounts,
    current: Option<CurrentVersion>,
) -> Vec<AuditResult> {
    let mut results = Vec::new();
    if let Some(check) = &config.rows_per_minute {
        results.push(rows_per_minute(check, facts));
    }
    if let Some(check) = &config.nulls {
        results.push(nulls(check, facts));
    }
    if let Some(check) = &config.expire_after_create {
        results.push(expire_after_create(check, facts));
    }
    if let Some(check) = &config.distinct_department_names {
        results.push(distinct_department_names(check, names));
    }
    if let Some(check) = &config.change {
        results.push(change(check, facts.rows, names, current));
    }
    results
}

fn result(check: &str, severity: Severity, passed: bool, detail: String) -> AuditResult {
    AuditResult {
        check: check.to_owned(),
        severity,
        passed,
        detail,
    }
}

fn count(n: i64) -> String {
    thousands(u64::try_from(n).unwrap_or(0))
}

fn rows_word(n: i64) -> &'static str {
    if n == 1 { "row" } else { "rows" }
}

fn rows_per_minute(check: &RowsPerMinute, facts: &Facts) -> AuditResult {
    let expected = i64::try_from(check.expected).unwrap_or(i64::MAX);
    let minutes = facts.per_minute.len() as i64;
    let off: Vec<i64> = facts
        .per_minute
        .values()
        .copied()
        .filter(|&n| n != expected)
        .collect();
    let detail = match (off.iter().min(), off.iter().max()) {
        (Some(&low), Some(&high)) => {
            let held = if low == high {
                format!("{} {}", count(low), rows_word(low))
            } else {
                format!("{} to {} rows", count(low), count(high))
            };
            format!(
                "{} of {} minutes hold {held}, expected {}",
                count(off.len() as i64),
                count(minutes),
                count(expected)
            )
        }
        _ => format!(
            "{} of {} minutes hold {} {}",
            count(minutes),
            count(minutes),
            count(expected),
            rows_word(expected)
        ),
    };
    result("rows per minute", check.severity, off.is_empty(), detail)
}

fn nulls(check: &Nulls, facts: &Facts) -> AuditResult {
    let max = i64::try_from(check.max).unwrap_or(i64::MAX);
    let over: Vec<String> = COLUMNS
        .iter()
        .zip(facts.nulls)
        .filter(|&(_, n)| n > max)
        .map(|((column, _), n)| format!("{column} has {}", count(n)))
        .collect();
    let detail = if over.is_empty() {
        format!(
            "no column has more than {} (of {} rows)",
            count(max),
            count(facts.rows)
        )
    } else {
        format!(
            "{} (of {} rows), at most {} allowed",
            over.join(", "),
            count(facts.rows),
            count(max)
        )
    };
    result("nulls per column", check.severity, over.is_empty(), detail)
}

fn expire_after_create(check: &ExpireAfterCreate, facts: &Facts) -> AuditResult {
    let bad = facts.expire_not_after_create;
    let detail = format!(
        "{} of {} rows have product_expire at or before create_at",
        count(bad),
        count(facts.rows)
    );
    result(
        "product_expire after create_at",
        check.severity,
        bad == 0,
        detail,
    )
}

fn distinct_department_names(check: &DistinctRange, names: NameCounts) -> AuditResult {
    let n = names.department_names;
    let wanted = if check.min == check.max {
        count(check.min)
    } else {
        format!("{} to {}", count(check.min), count(check.max))
    };
    result(
        "distinct department names",
        check.severity,
        (check.min..=check.max).contains(&n),
        format!("{} distinct, expected {wanted}", count(n)),
    )
}

fn change(
    check: &Change,
    rows: i64,
    names: NameCounts,
    current: Option<CurrentVersion>,
) -> AuditResult {
    let name = "change against the current version";
    let Some(current) = current else {
        return result(
            name,
            check.severity,
            true,
            "the day has no current version to compare with".to_owned(),
        );
    };
    let mut measures = vec![("rows", current.rows, rows)];
    if let Some(old) = current.names {
        measures.extend([
            (
                "distinct department names",
                old.department_names,
                names.department_names,
            ),
            (
                "distinct sensor serials",
                old.sensor_serials,
                names.sensor_serials,
            ),
            (
                "distinct product names",
                old.product_names,
                names.product_names,
            ),
        ]);
    }
    let outside: Vec<String> = measures
        .iter()
        .filter_map(|&(what, old, new)| {
            let percent = percent_change(old, new);
            (percent.abs() > check.max_percent)
                .then(|| format!("{what} {} → {} ({percent:+.1} %)", count(old), count(new)))
        })
        .collect();
    let detail = if outside.is_empty() {
        format!(
            "rows and distinct names within ±{} % of the current version",
            check.max_percent
        )
    } else {
        format!(
            "{}; at most ±{} % allowed",
            outside.join(", "),
            check.max_percent
        )
    };
    result(name, check.severity, outside.is_empty(), detail)
}

/// The change from `old` to `new` in percent of `old` (from nothing to something: 100 %).
fn percent_change(old: i64, new: i64) -> f64 {
    if old == 0 {
        return if new == 0 { 0.0 } else { 100.0 };
    }
    (new - old) as f64 * 100.0 / old as f64
}

/// The refusal of a load whose audit failed, or nothing when it may publish.
pub(crate) fn verdict(date: NaiveDate, results: &[AuditResult]) -> Result<(), LoadError> {
    if results.iter().any(AuditResult::refuses) {
        return Err(LoadError::AuditFailed {
            date,
            results: results.to_vec(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
