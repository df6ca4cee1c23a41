//! The job list's reads: pages of jobs by filter, the active ones, the latest finished,
//! a day's jobs.

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::PgPool;
use uuid::Uuid;

use super::{COLUMNS, JobRow, get_with_attempts};
use crate::domain::{Job, JobStatus};

/// Which jobs to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only this dataset's jobs; `None`: every dataset's.
    pub dataset: Option<String>,
    pub status: Option<JobStatus>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// List the jobs after this one (the previous page's last job).
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// One page of jobs, and whether there are more.
pub async fn list(pool: &PgPool, filter: &ListFilter) -> Result<(Vec<Job>, bool), sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM ops.jobs
         WHERE ($1::text IS NULL OR status = $1)
           AND ($2::date IS NULL OR date >= $2)
           AND ($3::date IS NULL OR date <= $3)
           AND ($4::uuid IS NULL OR (created_at, id) < (SELECT created_at, id FROM ops.jobs WHERE id = $4))
           AND ($6::text IS NULL OR dataset = $6)
         ORDER BY created_at DESC, id DESC
         LIMIT $5"
    );
    let rows = sqlx::query_as::<_, JobRow>(&sql)
        .bind(filter.status)
        .bind(filter.from)
        .bind(filter.to)
        .bind(filter.after)
        .bind(filter.limit + 1)
        .bind(filter.dataset.as_deref())
        .fetch_all(pool)
        .await?;
    let more = rows.len() as i64 > filter.limit;
    Ok((
        rows.into_iter()
            .take(filter.limit as usize)
            .map(Job::from)
            .collect(),
        more,
    ))
}

/// Every queued or running job of `dataset`.
pub async fn active(pool: &PgPool, dataset: &str) -> Result<Vec<Job>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM ops.jobs
         WHERE dataset = $1 AND status IN ('queued', 'running') ORDER BY date"
    );
    let rows = sqlx::query_as::<_, JobRow>(&sql)
        .bind(dataset)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(Job::from).collect())
}

/// Each day of `dataset` that has a queued or running job, with that job.
pub async fn active_by_day(
    pool: &PgPool,
    dataset: &str,
) -> Result<HashMap<NaiveDate, Job>, sqlx::Error> {
    Ok(active(pool, dataset)
        .await?
        .into_iter()
        .map(|job| (job.date, job))
        .collect())
}

/// The `limit` jobs of `dataset` that finished last, newest first.
pub async fn recent_finished(
    pool: &PgPool,
    dataset: &str,
    limit: i64,
) -> Result<Vec<Job>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM ops.jobs WHERE dataset = $2 AND finished_at IS NOT NULL
         ORDER BY finished_at DESC LIMIT $1"
    );
    let rows = sqlx::query_as::<_, JobRow>(&sql)
        .bind(limit)
        .bind(dataset)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(Job::from).collect())
}

/// The days of `dataset` that have jobs.
pub async fn job_dates(pool: &PgPool, dataset: &str) -> Result<Vec<NaiveDate>, sqlx::Error> {
    sqlx::query_scalar("SELECT DISTINCT date FROM ops.jobs WHERE dataset = $1 ORDER BY 1")
        .bind(dataset)
        .fetch_all(pool)
        .await
}

/// A day's jobs, newest first, each with its attempts.
pub async fn of_day(
    pool: &PgPool,
    dataset: &str,
    date: NaiveDate,
    limit: i64,
) -> Result<Vec<Job>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM ops.jobs WHERE dataset = $3 AND date = $1
         ORDER BY created_at DESC LIMIT $2"
    );
    let rows = sqlx::query_as::<_, JobRow>(&sql)
        .bind(date)
        .bind(limit)
        .bind(dataset)
        .fetch_all(pool)
        .await?;
    let mut jobs = Vec::with_capacity(rows.len());
    for row in rows {
        let id = row.id;
        match get_with_attempts(pool, id).await? {
            Some(job) => jobs.push(job),
            None => jobs.push(Job::from(row)), // pruned meanwhile: without its attempts
        }
    }
    Ok(jobs)
}
