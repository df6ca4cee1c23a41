//! The job list, filtered and paged: what `GET /jobs` answers and the dashboard's job
//! page draws.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::catalog::Catalog;
use crate::domain::{Job, JobStatus, LoadDate};
use crate::problem::ApiError;
use crate::queue::{self, ListFilter};

/// Filters and paging of the job list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListJobsQuery {
    /// Only this dataset's jobs (`GET /datasets` lists them); without it, every
    /// dataset's (each job says its `dataset`).
    #[param(pattern = r"^[a-z][a-z0-9_]{0,62}$", example = "sample")]
    pub dataset: Option<String>,
    /// Only jobs in this status.
    pub status: Option<JobStatus>,
    /// Only jobs for days on or after this one (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Only jobs for days on or before this one (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
    /// Jobs per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
}

/// A page of jobs, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<Uuid>,
}

/// The filter a query asks for, checked.
pub async fn filter_of(
    query: ListJobsQuery,
    catalog: &Catalog,
    pool: &PgPool,
) -> Result<ListFilter, ApiError> {
    if let Some(name) = &query.dataset {
        catalog.get(name)?;
    }
    let date = |name, value: Option<String>| -> Result<Option<NaiveDate>, ApiError> {
        Ok(value
            .map(|v| LoadDate::parse(name, &v).map(LoadDate::get))
            .transpose()?)
    };
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::InvalidParameter(format!(
            "limit must be between 1 and 500; got {limit}"
        )));
    }
    if let Some(cursor) = query.cursor
        && !queue::exists(pool, cursor).await?
    {
        return Err(ApiError::InvalidParameter(format!(
            "cursor {cursor} is not a job; pass the next_cursor of the previous page"
        )));
    }
    Ok(ListFilter {
        dataset: query.dataset,
        status: query.status,
        from: date("from", query.from)?,
        to: date("to", query.to)?,
        after: query.cursor,
        limit,
    })
}

/// One page of jobs and the cursor of the next one (`None` on the last page).
pub async fn page_of(
    pool: &PgPool,
    filter: &ListFilter,
) -> Result<(Vec<Job>, Option<Uuid>), ApiError> {
    let (jobs, more) = queue::list(pool, filter).await?;
    let next_cursor = if more {
        jobs.last().map(|j| j.id)
    } else {
        None
    };
    Ok((jobs, next_cursor))
}

/// The answer for an id no job has.
pub fn no_such_job(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("no job has id {id}"))
}

/// A job with its attempts.
pub async fn job(pool: &PgPool, id: Uuid) -> Result<Job, ApiError> {
    queue::get_with_attempts(pool, id)
        .await?
        .ok_or_else(|| no_such_job(id))
}
