//! `/jobs`: follow loads and cancel them (queueing them is `new_jobs`).

use actix_web::{HttpRequest, HttpResponse, web};
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::{ApiToken, Authorized};
use crate::catalog::Catalog;
use crate::commands::cancel::{self, Cancelled};
use crate::domain::Job;
use crate::problem::{ApiError, Problem};
use crate::queries::jobs::{self, JobPage, ListJobsQuery, filter_of, page_of};
use crate::routes::endpoint::Endpoint;
use crate::routes::new_jobs::create_jobs;
use crate::ui;
use actix_web::web::ServiceConfig;

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
        (status = 404, description = "There is no such dataset (`unknown-dataset`, with the `datasets` there are)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_jobs(
    request: HttpRequest,
    query: web::Query<ListJobsQuery>,
    catalog: web::Data<Catalog>,
    pool: web::Data<PgPool>,
    token: web::Data<ApiToken>,
) -> Result<HttpResponse, ApiError> {
    if ui::wants_html(&request) {
        let page = ui::Page::of(&token);
        return Ok(ui::jobs::render(query.into_inner(), &catalog, &pool, page).await);
    }
    let filter = filter_of(query.into_inner(), &catalog, &pool).await?;
    let (jobs, next_cursor) = page_of(&pool, &filter).await?;
    Ok(HttpResponse::Ok().json(JobPage { jobs, next_cursor }))
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
    Ok(HttpResponse::Ok().json(jobs::job(&pool, id).await?))
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
    Ok(match cancel::cancel_job(&pool, id).await? {
        Cancelled::Now(job) => HttpResponse::Ok().json(job),
        Cancelled::Asked(job) => HttpResponse::Accepted().json(job),
    })
}

/// `/jobs`: queueing (`new_jobs`), listing, following and cancelling jobs.
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(
            Endpoint::at("/jobs")
                .get(list_jobs)
                .post(create_jobs)
                .done(),
        )
        .service(Endpoint::at("/jobs/{id}").get(get_job).done())
        .service(Endpoint::at("/jobs/{id}/cancel").post(cancel_job).done());
}
