//! `POST /jobs`: queue the load of a day, or of each day of a range (a backfill).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Authorized;
use crate::catalog::{DatasetParam, DatasetQuery};
use crate::commands::queue_day::queue_day;
use crate::commands::queue_range::{Backfill, BackfillOptions, queue_range};
use crate::domain::{DateRange, Job, JobTrigger, LoadDate, Reprocess};
use crate::idempotency;
use crate::intake::Intake;
use crate::problem::{ApiError, Problem};
use crate::queue::NewJob;

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
    /// For a range: which days to queue. `all` (the default) every day with files;
    /// `missing` the days not loaded yet; `failed` those whose latest job failed;
    /// `changed` loaded days whose files differ from what was loaded (another number of
    /// files or total size, or a file modified after the load).
    #[param(inline)]
    reprocess: Option<Reprocess>,
    /// For a range: answer what would be queued (200), queueing nothing.
    dry_run: Option<bool>,
}

impl CreateJobsQuery {
    /// The request's parameters in one fixed order: what an `Idempotency-Key` is bound to.
    /// The sample's requests read as they did before datasets, so that a key sent again
    /// across an upgrade still matches.
    fn normalised(&self, dataset: &DatasetParam) -> String {
        let text = |name, value: &Option<String>| value.as_ref().map(|v| format!("{name}={v}"));
        let flag = |name, value: Option<bool>| value.map(|v| format!("{name}={v}"));
        let dataset = (!dataset.is_sample()).then(|| format!("dataset={}", dataset.name()));
        [
            dataset,
            text("date", &self.date),
            text("from", &self.from),
            text("to", &self.to),
            flag("allow_partial", self.allow_partial),
            flag("force", self.force),
            self.reprocess.map(|r| format!("reprocess={r:?}")),
            flag("dry_run", self.dry_run),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("&")
    }
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
///
/// With an `Idempotency-Key` header, sending the same request again within 24 hours (after
/// a timeout, say) answers what the first one answered, without queueing anything.
#[utoipa::path(
    post,
    path = "/jobs",
    tag = "jobs",
    params(
        DatasetQuery,
        CreateJobsQuery,
        ("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,255}$", description = "Any 1 to 255 visible ASCII characters (a UUID, say) naming this request: the same key with the same parameters within 24 hours answers the first answer again; with other parameters, 422"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A dry run (`dry_run=true`): what the backfill would queue (`would_queue`), and the days it would not", body = Created),
        (status = 202, description = "Queued. For `date`: the job, with its URL in `Location`. For `from`/`to`: what was queued, what was busy, what had no files and what `reprocess` skipped.",
            body = Created, headers(("Location" = String, description = "URL of the new job"))),
        (status = 400, description = "A date is malformed or impossible, or the parameters are combined wrongly", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`API_TOKEN` is set and the bearer token is missing or wrong", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong bearer tokens from this address in the last minute: every request from it is refused until `Retry-After` seconds have passed", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A cross-site browser request (`Sec-Fetch-Site: cross-site`, or an `Origin` other than this server)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "There is no such dataset (`unknown-dataset`; `datasets` lists those there are)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The date already has a queued or running job; its id is in `job_id`. Or (`idempotency-in-progress`) a request with the same `Idempotency-Key` is still being handled: retry in a moment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "There are no source files for the date (or for any day of the range); or the day is incomplete (`day-incomplete`, with `missing_minutes`; `allow_partial=true` loads it) or ambiguous (`day-ambiguous`: other files named after the day); or (`idempotency-key-reused`) the `Idempotency-Key` was used for other parameters", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable, or the bucket holding the files cannot be listed (refused, or unreachable after retries)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_jobs(
    _: Authorized,
    request: HttpRequest,
    dataset: DatasetParam,
    query: web::Query<CreateJobsQuery>,
    pool: web::Data<PgPool>,
    intake: web::Data<Intake>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let parameters = query.normalised(&dataset);
    idempotency::answer_once(&pool, &request, &parameters, || {
        create(&dataset, query, &pool, &intake)
    })
    .await
}

async fn create(
    dataset: &DatasetParam,
    query: CreateJobsQuery,
    pool: &PgPool,
    intake: &Intake,
) -> Result<HttpResponse, ApiError> {
    let job = NewJob {
        max_attempts: intake.max_attempts,
        allow_partial: query.allow_partial.unwrap_or(false),
        force: query.force.unwrap_or(false),
        trigger: JobTrigger::Api,
        rollback_to: None,
    };
    match (query.date, query.from, query.to) {
        (Some(_), None, None) if query.reprocess.is_some() || query.dry_run.is_some() => {
            Err(ApiError::InvalidParameter(
                "reprocess and dry_run apply to a range (from and to), not to one date".into(),
            ))
        }
        (Some(date), None, None) => {
            let date = LoadDate::parse("date", &date)?;
            create_one(dataset, date, job, pool, intake).await
        }
        (None, Some(from), Some(to)) => {
            let from = LoadDate::parse("from", &from)?;
            let to = LoadDate::parse("to", &to)?;
            let range = DateRange::new(from, to)?;
            let options = BackfillOptions {
                job: NewJob {
                    trigger: JobTrigger::Backfill,
                    ..job
                },
                reprocess: query.reprocess.unwrap_or_default(),
                dry_run: query.dry_run.unwrap_or(false),
            };
            let backfill = queue_range(dataset, range, options, pool, intake).await?;
            let mut answer = if backfill.dry_run {
                HttpResponse::Ok()
            } else {
                HttpResponse::Accepted()
            };
            Ok(answer.json(Created::Backfill(backfill)))
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
    dataset: &DatasetParam,
    date: LoadDate,
    job: NewJob,
    pool: &PgPool,
    intake: &Intake,
) -> Result<HttpResponse, ApiError> {
    let job = queue_day(dataset, date, job, pool, intake).await?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/jobs/{}", job.id)))
        .json(Created::Job(Box::new(job))))
}
