//! What `loader partitions`, `versions` and `gc` print: tables for people.

use std::sync::Arc;

use chrono::NaiveDate;
use loader::Table;
use sqlx::PgPool;

pub(crate) fn list(names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(": {}", names.join(", "))
    }
}

pub(crate) async fn print_partitions(pool: &PgPool, table: &Table) -> anyhow::Result<()> {
    let days = loader::list_partitions_of(pool, table).await?;
    println!(
        "{:<10}  {:>10}  {:>10}  {:<25}  job",
        "day", "rows", "size MB", "loaded at"
    );
    for day in &days {
        println!(
            "{:<10}  {:>10}  {:>10.1}  {:<25}  {}",
            day.day,
            day.rows,
            day.size_bytes as f64 / 1e6,
            day.loaded_at.format("%Y-%m-%d %H:%M:%S UTC"),
            day.job_id
                .map_or_else(|| "-".to_owned(), |id| id.to_string())
        );
    }
    println!("{} day(s)", days.len());
    Ok(())
}

pub(crate) async fn print_versions(
    pool: &PgPool,
    table: &Arc<Table>,
    date: NaiveDate,
) -> anyhow::Result<()> {
    let versions = loader::list_versions_of(pool, table, date).await?;
    println!(
        "{:>7}  {:<8}  {:>10}  {:>10}  {:<25}  audit",
        "version", "", "rows", "size MB", "loaded at"
    );
    for v in &versions {
        let findings: Vec<String> = v
            .audits
            .iter()
            .filter(|a| !a.passed)
            .map(ToString::to_string)
            .collect();
        println!(
            "{:>7}  {:<8}  {:>10}  {:>10.1}  {:<25}  {}",
            v.version,
            if v.current { "current" } else { "kept" },
            v.rows,
            v.disk_bytes as f64 / 1e6,
            v.loaded_at.format("%Y-%m-%d %H:%M:%S UTC"),
            if v.audits.is_empty() {
                "-".to_owned()
            } else if findings.is_empty() {
                "passed".to_owned()
            } else {
                findings.join("; ")
            }
        );
    }
    println!("{} version(s)", versions.len());
    Ok(())
}
