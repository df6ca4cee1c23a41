//! Audits: checks of a day's rows that run on its staging tables, after the COPY and
//! before the swap (write-audit-publish). A failing check of severity `fail` refuses the
//! load, so readers never see the day; a `warn` is recorded with the job and the version.
//!
//! The checks are configured in a small TOML file of `[[check]]` entries, each of a kind
//! configured by column (`loader/audits.toml` holds the sample's). What they measure
//! ([`Facts`], and the sample's distinct names) is counted in the same pass as the COPY,
//! batch by batch on its way into the staging tables, and judged once every stream has
//! committed its table, before the swap.

mod config;
mod judge;
mod plan;
// Named by `error.rs` at its own path, so that the error does not import the audit.
pub(crate) mod result;

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use sqlx::PgConnection;

pub use config::{AuditConfig, AuditConfigError, Check, CheckKind, Severity};
pub(crate) use plan::facts_plan;
pub use result::AuditResult;

use crate::copy::facts::Facts;
use crate::copy::names::NameCounts;
use crate::error::LoadError;
use crate::warehouse::day::Day;

/// The day as it stands now, for the change check.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CurrentVersion {
    pub rows: i64,
    pub names: Option<NameCounts>,
}

/// Rows and the three distinct counts (null for a day loaded before they were kept, and
/// for a dataset other than the sample).
type CountsRow = (i64, Option<i64>, Option<i64>, Option<i64>);

/// The day's current version's counts, or `None` for a day not loaded whole.
async fn current_version(
    conn: &mut PgConnection,
    day: &Day,
) -> Result<Option<CurrentVersion>, sqlx::Error> {
    let row: Option<CountsRow> = sqlx::query_as(
        "SELECT rows, distinct_department_names, distinct_sensor_serials, distinct_product_names
         FROM dwh.day_loads WHERE day = $1 AND dataset = $2",
    )
    .bind(day.date())
    .bind(day.table().dataset())
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

/// What the COPY counted of the staging tables' rows.
pub(crate) struct Counted<'a> {
    pub facts: Option<&'a Facts>,
    /// The sample's distinct names (none for other datasets).
    pub names: Option<NameCounts>,
    /// What a file of the day is, in the plural, for messages ("minutes", "hours", "files").
    pub unit: &'static str,
}

/// Judges what the COPY counted, against the day's current version too, read on `conn`;
/// an error when a check of severity `fail` fails (the caller drops the staging tables,
/// the day is untouched). Without a configured audit, nothing is judged.
pub(crate) async fn before_swap(
    conn: &mut PgConnection,
    day: &Day,
    config: Option<&AuditConfig>,
    counted: Counted<'_>,
) -> Result<Audited, LoadError> {
    let started = Instant::now();
    let (Some(config), Some(facts)) = (config, counted.facts) else {
        return Ok(Audited {
            results: Vec::new(),
            duration: Duration::ZERO,
        });
    };
    let current = current_version(conn, day).await?;
    let judged = judge::Judged {
        facts,
        names: counted.names,
        table: day.table(),
        unit: counted.unit,
    };
    let results = judged.all(config, current);
    let duration = started.elapsed();
    for result in results.iter().filter(|r| !r.passed) {
        tracing::warn!(check = %result.check, severity = ?result.severity, "audit: {result}");
    }
    verdict(day.date(), &results)?;
    Ok(Audited { results, duration })
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
