//! `/days/{date}/versions` and `/days/{date}/rollback`: a day's current and kept versions,
//! and swapping a kept one back in.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;

use crate::auth::Authorized;
use crate::catalog::{DatasetParam, DatasetQuery};
use crate::commands::queue_rollback::{no_such_version, queue_rollback};
use crate::domain::{Job, LoadDate};
use crate::idempotency;
use crate::intake::Intake;
use crate::problem::{ApiError, Problem};
use crate::queries::versions::{DayVersions, day_versions};
use crate::routes::endpoint::Endpoint;
use actix_web::web::ServiceConfig;

/// List a day's current and kept versions.
///
/// A replace keeps the version it replaces (`KEEP_VERSIONS` of them per day, for
/// `KEEP_VERSIONS_HOURS` after they were replaced), in a schema readers do not see; each
/// version carries its load's audit results.
#[utoipa::path(
    get,
    path = "/days/{date}/versions",
    tag = "days",
    params(("date" = String, Path, format = Date, description = "The day, `YYYY-MM-DD`", example = "2023-01-01"), DatasetQuery),
    responses(
        (status = 200, description = "The day's versions, newest first (none for a day never loaded whole)", body = DayVersions),
        (status = 400, description = "The date is malformed or impossible", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "There is no such dataset (`unknown-dataset`, with the `datasets` there are)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_versions(
    date: web::Path<String>,
    dataset: DatasetParam,
    pool: web::Data<PgPool>,
) -> Result<HttpResponse, ApiError> {
    let date = LoadDate::parse("date", &date)?.get();
    Ok(HttpResponse::Ok().json(day_versions(&dataset, &pool, date).await?))
}

/// The version to swap back in.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RollbackQuery {
    /// A kept version of the day (see `GET /days/{date}/versions`).
    #[param(minimum = 1, example = 1)]
    version: Option<i64>,
}

/// Roll a day back to a kept version.
///
/// Queues a job (trigger `rollback`) that swaps the kept version's rows back in through
/// the same swap a load uses: readers see one version or the other, never a mix. The
/// version it replaces is kept in turn, so a rollback can be undone the same way. The
/// watcher does not reload a rolled-back day until its files change again.
#[utoipa::path(
    post,
    path = "/days/{date}/rollback",
    tag = "days",
    params(
        ("date" = String, Path, format = Date, description = "The day, `YYYY-MM-DD`", example = "2023-01-01"),
        RollbackQuery,
        DatasetQuery,
        ("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,255}$", description = "As for `POST /jobs`: the same key with the same parameters within 24 hours answers the first answer again"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued: the rollback job, with its URL in `Location`", body = Job,
            headers(("Location" = String, description = "URL of the job"))),
        (status = 400, description = "The date is malformed or impossible, or `version` is missing or not a positive number", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`API_TOKEN` is set and the bearer token is missing or wrong", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong bearer tokens from this address in the last minute: every request from it is refused until `Retry-After` seconds have passed", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A cross-site browser request", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The day has no such kept version (never made, or dropped by retention); or there is no such dataset (`unknown-dataset`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The day is loading or being rolled back (`date-busy`, with `job_id`), or the version is the current one (`already-current`); or (`idempotency-in-progress`) a request with the same `Idempotency-Key` is still being handled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "(`idempotency-key-reused`) the `Idempotency-Key` was used for other parameters", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rollback(
    _: Authorized,
    request: HttpRequest,
    date: web::Path<String>,
    query: web::Query<RollbackQuery>,
    dataset: DatasetParam,
    pool: web::Data<PgPool>,
    intake: web::Data<Intake>,
) -> Result<HttpResponse, ApiError> {
    let date = LoadDate::parse("date", &date)?.get();
    let version = match query.version {
        Some(v) if v >= 1 => {
            i32::try_from(v).map_err(|_| no_such_version(dataset.name(), date, v))?
        }
        _ => {
            return Err(ApiError::InvalidParameter(format!(
                "give the version to roll back to as ?version=N (N ≥ 1); GET /days/{date}/versions lists the kept ones"
            )));
        }
    };
    // The sample's parameters read as before datasets, so that a key keeps matching.
    let parameters = if dataset.is_sample() {
        format!("rollback:date={date}&version={version}")
    } else {
        format!(
            "rollback:dataset={}&date={date}&version={version}",
            dataset.name()
        )
    };
    idempotency::answer_once(&pool, &request, &parameters, || {
        queued(&dataset, date, version, &pool, &intake)
    })
    .await
}

/// Queues the rollback and answers 202 with the job and its URL.
async fn queued(
    dataset: &DatasetParam,
    date: NaiveDate,
    version: i32,
    pool: &PgPool,
    intake: &Intake,
) -> Result<HttpResponse, ApiError> {
    let job = queue_rollback(dataset, date, version, pool, intake).await?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/jobs/{}", job.id)))
        .json(job))
}

pub fn configure(config: &mut ServiceConfig) {
    config
        .service(
            Endpoint::at("/days/{date}/versions")
                .get(list_versions)
                .done(),
        )
        .service(Endpoint::at("/days/{date}/rollback").post(rollback).done());
}
