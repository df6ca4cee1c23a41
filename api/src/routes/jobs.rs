//! `/jobs`: follow loads and cancel them (queueing them is `new_jobs`).

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{ApiToken, Authorized};
use crate::domain::{Job, JobStatus, LoadDate};
use crate::problem::{ApiError, Problem};
use crate::queue::{self, CancelOutcome, ListFilter};
use crate::ui;

/// Filters and paging of the job list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListJobsQuery {
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

/// List jobs, newest first.
///
/// A browser (`Accept: text/html` before any JSON type) gets the job list page of the
/// dashboard instead.
#[utoipa::path(
    get,
    path = "/jobs",
    tag = "jobs",
    params(ListJobsQuery),
    responses(
        (status = 200, description = "A page of jobs (JSON), or the job list page (HTML, for a browser)",
         content((JobPage = "application/json"), (String = "text/html"))),
        (status = 400, description = "A filter or the cursor is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_jobs(
    request: HttpRequest,
    query: web::Query<ListJobsQuery>,
    pool: web::Data<PgPool>,
    token: web::Data<ApiToken>,
) -> Result<HttpResponse, ApiError> {
    if ui::wants_html(&request) {
        return Ok(ui::jobs::render(query.into_inner(), &pool, ui::Page::of(&token)).await);
    }
    let filter = filter_of(query.into_inner(), &pool).await?;
    let (jobs, next_cursor) = page_of(&pool, &filter).await?;
    Ok(HttpResponse::Ok().json(JobPage { jobs, next_cursor }))
}

/// The filter a query asks for, checked.
pub async fn filter_of(query: ListJobsQuery, pool: &PgPool) -> Result<ListFilter, ApiError> {
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

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| {
        let shown: String = id.chars().take(40).collect();
        ApiError::InvalidParameter(format!("job id must be a UUID; got {shown:?}"))
    })
}

/// Get a job: status, progress, timings, rows, error, and every attempt with its error.
#[utoipa::path(
    get,
    path = "/jobs/{id}",
    tag = "jobs",
    params(("id" = String, Path, format = Uuid, description = "The job's id", example = "0193a0c4-5a4e-7cc1-9d7e-2f0c1f6f3b11")),
    responses(
        (status = 200, description = "The job", body = Job),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No job has this id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_job(
    id: web::Path<String>,
    pool: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    match queue::get_with_attempts(&pool, id).await? {
        Some(job) => Ok(HttpResponse::Ok().json(job)),
        None => Err(not_found(id)),
    }
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("no job has id {id}"))
}

/// Cancel a job.
///
/// A queued job is cancelled at once (200). A running job is asked to stop (202): its
/// load stops at the next check, its staging data is dropped and the day keeps its old
/// rows; the job then ends `cancelled`. A finished job cannot be cancelled (409).
#[utoipa::path(
    post,
    path = "/jobs/{id}/cancel",
    tag = "jobs",
    params(("id" = String, Path, format = Uuid, description = "The job's id", example = "0193a0c4-5a4e-7cc1-9d7e-2f0c1f6f3b11")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The job was queued and is now cancelled", body = Job),
        (status = 202, description = "The job is running; it has been asked to stop", body = Job),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`API_TOKEN` is set and the bearer token is missing or wrong", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong bearer tokens from this address in the last minute: every request from it is refused until `Retry-After` seconds have passed", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A cross-site browser request (`Sec-Fetch-Site: cross-site`, or an `Origin` other than this server)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No job has this id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job has already finished", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn cancel_job(
    _: Authorized,
    id: web::Path<String>,
    pool: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    match queue::cancel(&pool, id).await? {
        CancelOutcome::Cancelled(job) => {
            tracing::info!(job_id = %id, "queued job cancelled");
            Ok(HttpResponse::Ok().json(job))
        }
        CancelOutcome::Requested(job) => {
            tracing::info!(job_id = %id, "running job asked to stop");
            Ok(HttpResponse::Accepted().json(job))
        }
        CancelOutcome::AlreadyFinished(job) => Err(ApiError::JobFinished(format!(
            "job {id} has already finished ({}); there is nothing to cancel",
            job.status.as_str()
        ))),
        CancelOutcome::NotFound => Err(not_found(id)),
    }
}
