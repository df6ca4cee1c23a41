//! Each kind of check, judged on what the COPY counted.

use super::CurrentVersion;
use super::config::{AuditConfig, Check, CheckKind, Severity};
use super::result::AuditResult;
use crate::copy::facts::Facts;
use crate::copy::names::NameCounts;
use crate::error::thousands;
use crate::warehouse::table::Table;

/// What the checks are judged on.
pub(crate) struct Judged<'a> {
    pub facts: &'a Facts,
    pub names: Option<NameCounts>,
    pub table: &'a Table,
    pub unit: &'static str,
}

impl Judged<'_> {
    /// Every check's result, passed or not, in the file's order.
    pub(crate) fn all(
        &self,
        config: &AuditConfig,
        current: Option<CurrentVersion>,
    ) -> Vec<AuditResult> {
        config
            .checks
            .iter()
            .map(|check| self.one(check, current))
            .collect()
    }

    fn one(&self, check: &Check, current: Option<CurrentVersion>) -> AuditResult {
        let (passed, detail) = match &check.kind {
            CheckKind::RowsPerFile { min, max } => self.rows_per_file(*min, *max),
            CheckKind::Nulls { columns, max } => self.nulls(columns, *max),
            CheckKind::Distinct { column, min, max } => self.distinct(column, *min, *max),
            CheckKind::Order { before, after } => self.order(before, after),
            CheckKind::Range { column, min, max } => self.range(column, *min, *max),
            CheckKind::Change { max_percent } => self.change(*max_percent, current),
        };
        result(&check.name, check.severity, passed, detail)
    }

    fn rows_per_file(&self, min: u64, max: u64) -> (bool, String) {
        let (min, max) = (clamp(min), clamp(max));
        let files = self.facts.per_file.len() as i64;
        let off: Vec<i64> = self
            .facts
            .per_file
            .iter()
            .copied()
            .filter(|n| !(min..=max).contains(n))
            .collect();
        let wanted = if min == max {
            count(min)
        } else {
            format!("{} to {}", count(min), count(max))
        };
        let detail = match (off.iter().min(), off.iter().max()) {
            (Some(&low), Some(&high)) => {
                let held = if low == high {
                    format!("{} {}", count(low), rows_word(low))
                } else {
                    format!("{} to {} rows", count(low), count(high))
                };
                format!(
                    "{} of {} {} hold {held}, expected {wanted}",
                    count(off.len() as i64),
                    count(files),
                    self.unit
                )
            }
            _ if min == max => format!(
                "{} of {} {} hold {} {}",
                count(files),
                count(files),
                self.unit,
                wanted,
                rows_word(min)
            ),
            _ => format!(
                "{} of {} {} hold {wanted} rows",
                count(files),
                count(files),
                self.unit
            ),
        };
        (off.is_empty(), detail)
    }

    fn nulls(&self, columns: &[String], max: u64) -> (bool, String) {
        let max = clamp(max);
        let over: Vec<String> = self
            .table
            .columns()
            .iter()
            .zip(&self.facts.nulls)
            .filter(|(c, _)| columns.is_empty() || columns.contains(&c.name))
            .filter(|&(_, &n)| n > max)
            .map(|(c, &n)| format!("{} has {}", c.name, count(n)))
            .collect();
        let rows = count(self.facts.rows);
        let detail = if over.is_empty() {
            format!("no column has more than {} (of {rows} rows)", count(max))
        } else {
            format!(
                "{} (of {rows} rows), at most {} allowed",
                over.join(", "),
                count(max)
            )
        };
        (over.is_empty(), detail)
    }

    fn distinct(&self, column: &str, min: i64, max: i64) -> (bool, String) {
        let n = self.distinct_count(column);
        let wanted = if min == max {
            count(min)
        } else {
            format!("{} to {}", count(min), count(max))
        };
        (
            (min..=max).contains(&n),
            format!("{} distinct, expected {wanted}", count(n)),
        )
    }

    /// Distinct values of `column`: the sample's names from its counts, others from the
    /// facts.
    fn distinct_count(&self, column: &str) -> i64 {
        if let Some(counted) = self.names.and_then(|names| names.of(column)) {
            return counted;
        }
        let index = self.table.columns().iter().position(|c| c.name == column);
        self.facts
            .distinct
            .iter()
            .find(|(c, _)| Some(*c) == index)
            .map_or(0, |(_, seen)| seen.len() as i64)
    }

    fn order(&self, before: &str, after: &str) -> (bool, String) {
        let index = |name: &str| self.table.columns().iter().position(|c| c.name == name);
        let bad = self
            .facts
            .out_of_order
            .iter()
            .find(|(b, a, _)| Some(*b) == index(before) && Some(*a) == index(after))
            .map_or(0, |o| o.2);
        let detail = format!(
            "{} of {} rows have {after} at or before {before}",
            count(bad),
            count(self.facts.rows)
        );
        (bad == 0, detail)
    }

    fn range(&self, column: &str, min: Option<f64>, max: Option<f64>) -> (bool, String) {
        let index = self.table.columns().iter().position(|c| c.name == column);
        let outside = self
            .facts
            .out_of_range
            .iter()
            .find(|r| Some(r.0) == index && r.1 == min && r.2 == max)
            .map_or(0, |r| r.3);
        let bounds = match (min, max) {
            (Some(min), Some(max)) => format!("{min} to {max}"),
            (Some(min), None) => format!("at least {min}"),
            (None, _) => format!("at most {}", max.unwrap_or(f64::INFINITY)),
        };
        let detail = format!(
            "{} of {} rows have {column} outside {bounds}",
            count(outside),
            count(self.facts.rows)
        );
        (outside == 0, detail)
    }

    fn change(&self, max_percent: f64, current: Option<CurrentVersion>) -> (bool, String) {
        let Some(current) = current else {
            return (
                true,
                "the day has no current version to compare with".to_owned(),
            );
        };
        let mut measures = vec![("rows", current.rows, self.facts.rows)];
        if let (Some(old), Some(new)) = (current.names, self.names) {
            measures.extend([
                (
                    "distinct department names",
                    old.department_names,
                    new.department_names,
                ),
                (
                    "distinct sensor serials",
                    old.sensor_serials,
                    new.sensor_serials,
                ),
                (
                    "distinct product names",
                    old.product_names,
                    new.product_names,
                ),
            ]);
        }
        let outside: Vec<String> = measures
            .iter()
            .filter_map(|&(what, old, new)| {
                let percent = percent_change(old, new);
                (percent.abs() > max_percent)
                    .then(|| format!("{what} {} → {} ({percent:+.1} %)", count(old), count(new)))
            })
            .collect();
        let detail = if outside.is_empty() {
            let what = if self.names.is_some() {
                "rows and distinct names"
            } else {
                "rows"
            };
            format!("{what} within ±{max_percent} % of the current version")
        } else {
            format!("{}; at most ±{max_percent} % allowed", outside.join(", "))
        };
        (outside.is_empty(), detail)
    }
}

fn result(check: &str, severity: Severity, passed: bool, detail: String) -> AuditResult {
    AuditResult {
        check: check.to_owned(),
        severity,
        passed,
        detail,
    }
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn count(n: i64) -> String {
    thousands(u64::try_from(n).unwrap_or(0))
}

fn rows_word(n: i64) -> &'static str {
    if n == 1 { "row" } else { "rows" }
}

/// The change from `old` to `new` in percent of `old` (from nothing to something: 100 %).
fn percent_change(old: i64, new: i64) -> f64 {
    if old == 0 {
        return if new == 0 { 0.0 } else { 100.0 };
    }
    (new - old) as f64 * 100.0 / old as f64
}
