//! Audits: checks of a day's rows that run on its staging tables, after the COPY and
//! before the swap (write-audit-publish). A failing check of severity `fail` refuses the
//! load, so readers never see the day; a `warn` is recorded with the job and the version.
//!
//! The checks are configured in a small TOML file (`loader/audits.toml` holds the
//! defaults for the dataset). What they measure ([`Facts`], and the distinct names) is
//! counted in the same pass as the COPY, batch by batch on its way into the staging
//! tables, and judged once every stream has committed its table, before the swap.

mod config;
// Named by `error.rs` at its own path, so that the error does not import the audit.
pub(crate) mod result;

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use sqlx::PgConnection;

pub use config::{
    AuditConfig, AuditConfigError, Change, DistinctRange, ExpireAfterCreate, Nulls, RowsPerMinute,
    Severity,
};
pub use result::AuditResult;

use crate::copy::facts::Facts;
use crate::copy::names::NameCounts;
use crate::error::{LoadError, thousands};
use crate::warehouse::table::{SAMPLE_DATASET, Table};

/// The day as it stands now, for the change check.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CurrentVersion {
    pub rows: i64,
    pub names: Option<NameCounts>,
}

/// Rows and the three distinct counts (null for a day loaded before they were kept).
type CountsRow = (i64, Option<i64>, Option<i64>, Option<i64>);

/// The day's current version's counts, or `None` for a day not loaded whole.
async fn current_version(
    conn: &mut PgConnection,
    date: NaiveDate,
) -> Result<Option<CurrentVersion>, sqlx::Error> {
    let row: Option<CountsRow> = sqlx::query_as(
        "SELECT rows, distinct_department_names, distinct_sensor_serials, distinct_product_names
         FROM dwh.day_loads WHERE day = $1 AND dataset = $2",
    )
    .bind(date)
    .bind(SAMPLE_DATASET)
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

/// An audit's results and what judging them took.
pub(crate) struct Audited {
    pub results: Vec<AuditResult>,
    pub duration: Duration,
}

/// Judges what the COPY counted of the staging tables' rows (`facts`, `names`), against
/// the day's current version too, read on `conn`; an error when a check of severity
/// `fail` fails (the caller drops the staging tables, the day is untouched). Without a
/// configured audit, nothing is judged.
pub(crate) async fn before_swap(
    conn: &mut PgConnection,
    date: NaiveDate,
    config: Option<&AuditConfig>,
    facts: Option<&Facts>,
    names: Option<NameCounts>,
) -> Result<Audited, LoadError> {
    let started = Instant::now();
    let (Some(config), Some(facts), Some(names)) = (config, facts, names) else {
        return Ok(Audited {
            results: Vec::new(),
            duration: Duration::ZERO,
        });
    };
    let current = current_version(conn, date).await?;
    let results = judge(config, facts, names, current);
    let duration = started.elapsed();
    for result in results.iter().filter(|r| !r.passed) {
        tracing::warn!(check = %result.check, severity = ?result.severity, "audit: {result}");
    }
    verdict(date, &results)?;
    Ok(Audited { results, duration })
}

/// Judges the configured checks on what the COPY counted; every result, passed or not.
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
    let over: Vec<String> = Table::sample()
        .columns()
        .iter()
        .zip(facts.nulls)
        .filter(|&(_, n)| n > max)
        .map(|(column, n)| format!("{} has {}", column.name, count(n)))
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
fn verdict(date: NaiveDate, results: &[AuditResult]) -> Result<(), LoadError> {
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
