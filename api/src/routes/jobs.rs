//! `/jobs`: queue loads, follow them, cancel them.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use loader::LoadError;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Authorized;
use crate::domain::{DateRange, Job, JobStatus, LoadDate};
use crate::intake::{self, Intake};
use crate::problem::{ApiError, Problem};
use crate::queue::{self, CancelOutcome, Enqueued, ListFilter, NewJob};

/// Which day(s) to load: either `date`, or `from` and `to`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreateJobsQuery {
    /// The day to replace, `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date, example = "2023-01-01")]
    date: Option<String>,
    /// First day of a backfill (inclusive), e.g. `2023-01-01`; one job per day. Use with
    /// `to`, without `date`.
    // No example values on from/to: Swagger UI would prefill them, and "Try it out" would
    // send date, from and to together.
    #[param(value_type = Option<String>, format = Date)]
    from: Option<String>,
    /// Last day of a backfill (inclusive), e.g. `2023-01-03`; at most 366 days in all.
    #[param(value_type = Option<String>, format = Date)]
    to: Option<String>,
    /// Load a day even if some of its 1,440 minute files are missing; the day is recorded
    /// as partial, with the minutes it lacks. Without it, an incomplete day answers 422
    /// (`day-incomplete`), and a backfill lists it under `incomplete`.
    allow_partial: Option<bool>,
    /// Replace the day even if the load would leave it with fewer rows than the shrink
    /// guard allows (by default 90 % of what it holds).
    force: Option<bool>,
}

/// What a backfill queued, and the days it did not.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Backfill {
    /// Jobs queued, one per day.
    pub created: Vec<Job>,
    /// Days that already had a queued or running job.
    pub busy: Vec<BusyDate>,
    /// Days without source files.
    #[schema(value_type = Vec<String>, example = json!(["2023-02-01"]))]
    pub missing: Vec<NaiveDate>,
    /// Days with some minute files missing, not queued (`allow_partial=true` queues them).
    pub incomplete: Vec<RefusedDate>,
    /// Days with files named after the day that are not its minute files, not queued.
    pub ambiguous: Vec<RefusedDate>,
}

/// A day a backfill did not queue, and why.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RefusedDate {
    #[schema(value_type = String, format = Date, example = "2023-01-31")]
    pub date: NaiveDate,
    #[schema(
        example = "2023-01-31 is incomplete: 1439 of its 1,440 minutes have no file (00:01, 00:02, 00:03, 00:04, 00:05 … and 1434 more); load it with allow_partial=true (--allow-partial) to replace the day with the minutes there are"
    )]
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BusyDate {
    #[schema(value_type = String, format = Date, example = "2023-01-01")]
    pub date: NaiveDate,
    /// The job that is already queued or running for the day.
    pub job_id: Uuid,
}

/// `POST /jobs` answers with the job for `date`, or with a backfill summary.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Created {
    Job(Box<Job>),
    Backfill(Backfill),
}

/// Queue a clear+load of a day (or of each day of a range).
///
/// Answers at once with the queued job; a worker replaces the day's rows atomically in
/// the background. Follow the job with `GET /jobs/{id}`.
#[utoipa::path(
    post,
    path = "/jobs",
    tag = "jobs",
    params(CreateJobsQuery),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued. For `date`: the job, with its URL in `Location`. For `from`/`to`: what was queued, what was busy and what had no files.",
            body = Created, headers(("Location" = String, description = "URL of the new job"))),
        (status = 400, description = "A date is malformed or impossible, or the parameters are combined wrongly", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`API_TOKEN` is set and the bearer token is missing or wrong", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A cross-site browser request (`Sec-Fetch-Site: cross-site`, or an `Origin` other than this server)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The date already has a queued or running job; its id is in `job_id`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "There are no source files for the date (or for any day of the range); or the day is incomplete (`day-incomplete`, with `missing_minutes`; `allow_partial=true` loads it) or ambiguous (`day-ambiguous`: other files named after the day)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_jobs(
    _: Authorized,
    query: web::Query<CreateJobsQuery>,
    pool: web::Data<PgPool>,
    intake: web::Data<Intake>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let job = NewJob {
        max_attempts: intake.max_attempts,
        allow_partial: query.allow_partial.unwrap_or(false),
        force: query.force.unwrap_or(false),
    };
    match (query.date, query.from, query.to) {
        (Some(date), None, None) => {
            let date = LoadDate::parse("date", &date)?;
            create_one(date, job, &pool, &intake).await
        }
        (None, Some(from), Some(to)) => {
            let from = LoadDate::parse("from", &from)?;
            let to = LoadDate::parse("to", &to)?;
            let range = DateRange::new(from, to)?;
            create_range(range, job, &pool, &intake).await
        }
        (None, None, None) => Err(ApiError::InvalidParameter(
            "give the day to load as ?date=YYYY-MM-DD, or a range as ?from=YYYY-MM-DD&to=YYYY-MM-DD".into(),
        )),
        (Some(_), _, _) => Err(ApiError::InvalidParameter(
            "give either date, or from and to, not both".into(),
        )),
        (None, _, _) => Err(ApiError::InvalidParameter(
            "a range needs both from and to".into(),
        )),
    }
}

async fn create_one(
    date: LoadDate,
    job: NewJob,
    pool: &PgPool,
    intake: &Intake,
) -> Result<HttpResponse, ApiError> {
    // A busy date is answered from one index look-up, before the data directory is listed;
    // `enqueue` still settles races between instances.
    if let Some(active) = queue::active_for(pool, date.get()).await? {
        return Err(busy(&active));
    }
    intake.check_day(date.get(), job.allow_partial).await?;
    match queue::enqueue(pool, date.get(), job).await? {
        Enqueued::Created(job) => {
            intake.wake_workers();
            tracing::info!(job_id = %job.id, %date, "job queued");
            Ok(HttpResponse::Accepted()
                .insert_header((header::LOCATION, format!("/jobs/{}", job.id)))
                .json(Created::Job(Box::new(job))))
        }
        Enqueued::Busy(job) => Err(busy(&job)),
    }
}

fn busy(job: &Job) -> ApiError {
    ApiError::DateBusy {
        detail: format!(
            "{} already has a {} job ({}); cancel it or wait for it to finish",
            job.date,
            job.status.as_str(),
            job.id
        ),
        job_id: job.id,
    }
}

async fn create_range(
    range: DateRange,
    job: NewJob,
    pool: &PgPool,
    intake: &Intake,
) -> Result<HttpResponse, ApiError> {
    let mut result = Backfill {
        created: Vec::new(),
        busy: Vec::new(),
        missing: Vec::new(),
        incomplete: Vec::new(),
        ambiguous: Vec::new(),
    };
    let available = intake.days_with_source().await;
    if range
        .days()
        .all(|date| !available.contains_key(&date.get()))
    {
        return Err(ApiError::NoSourceFiles(
            "no source files for any day of the range in the data directory".into(),
        ));
    }
    for date in range.days() {
        let Some(files) = available.get(&date.get()) else {
            result.missing.push(date.get());
            continue;
        };
        if let Err(error) = files.judge(job.allow_partial) {
            let refused = RefusedDate {
                date: date.get(),
                reason: intake::without_data_dir(&error.to_string(), &intake.data_dir),
            };
            match error {
                LoadError::DayIncomplete { .. } => result.incomplete.push(refused),
                _ => result.ambiguous.push(refused),
            }
            continue;
        }
        match queue::enqueue(pool, date.get(), job).await? {
            Enqueued::Created(job) => result.created.push(job),
            Enqueued::Busy(job) => result.busy.push(BusyDate {
                date: job.date,
                job_id: job.id,
            }),
        }
    }
    intake.wake_workers();
    tracing::info!(
        created = result.created.len(),
        busy = result.busy.len(),
        missing = result.missing.len(),
        incomplete = result.incomplete.len(),
        ambiguous = result.ambiguous.len(),
        "backfill queued"
    );
    Ok(HttpResponse::Accepted().json(Created::Backfill(result)))
}

/// Filters and paging of the job list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListJobsQuery {
    /// Only jobs in this status.
    status: Option<JobStatus>,
    /// Only jobs for days on or after this one (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    from: Option<String>,
    /// Only jobs for days on or before this one (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    to: Option<String>,
    /// Jobs per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<Uuid>,
}

/// A page of jobs, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<Uuid>,
}

/// List jobs, newest first.
#[utoipa::path(
    get,
    path = "/jobs",
    tag = "jobs",
    params(ListJobsQuery),
    responses(
        (status = 200, description = "A page of jobs", body = JobPage),
        (status = 400, description = "A filter or the cursor is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_jobs(
    query: web::Query<ListJobsQuery>,
    pool: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
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
        && !queue::exists(&pool, cursor).await?
    {
        return Err(ApiError::InvalidParameter(format!(
            "cursor {cursor} is not a job; pass the next_cursor of the previous page"
        )));
    }
    let filter = ListFilter {
        status: query.status,
        from: date("from", query.from)?,
        to: date("to", query.to)?,
        after: query.cursor,
        limit,
    };
    let (jobs, more) = queue::list(&pool, &filter).await?;
    let next_cursor = if more {
        jobs.last().map(|j| j.id)
    } else {
        None
    };
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
