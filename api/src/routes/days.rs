//! `GET /days`: where each day of a range stands — its files, its load, its latest job —
//! in one word per day (`empty`, `arriving`, `complete`, `loaded`, `live`, `partial`,
//! `changed`, `failed`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;

use crate::catalog::{DatasetParam, DatasetQuery};
use crate::domain::{DateRange, LoadDate};
use crate::problem::{ApiError, Problem};
use crate::queries::days::{DayStatus, statuses};
use crate::queries::files::FilesView;
use crate::routes::endpoint::Endpoint;
use actix_web::web::ServiceConfig;

/// The days to report.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DaysQuery {
    /// First day, `YYYY-MM-DD`.
    #[param(value_type = String, format = Date, example = "2023-01-01")]
    from: String,
    /// Last day, inclusive (at most 366 days in all).
    #[param(value_type = String, format = Date, example = "2023-01-31")]
    to: String,
}

/// The state of each day of a range.
#[utoipa::path(
    get,
    path = "/days",
    tag = "days",
    params(DaysQuery, DatasetQuery),
    responses(
        (status = 200, description = "Each day of the range, in order", body = Vec<DayStatus>),
        (status = 400, description = "A date is malformed or impossible, missing, or the range is reversed or longer than 366 days", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "There is no such dataset (`unknown-dataset`, with the `datasets` there are)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable, or the bucket holding the files cannot be listed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_days(
    query: web::Query<DaysQuery>,
    dataset: DatasetParam,
    pool: web::Data<PgPool>,
    files: web::Data<FilesView>,
) -> Result<HttpResponse, ApiError> {
    let from = LoadDate::parse("from", &query.from)?;
    let to = LoadDate::parse("to", &query.to)?;
    let range = DateRange::new(from, to)?;
    let summaries = files
        .summaries(&dataset, &pool, from.get(), to.get())
        .await?;
    let days = statuses(&dataset, &pool, &summaries, range).await?;
    Ok(HttpResponse::Ok().json(days))
}

pub fn configure(config: &mut ServiceConfig) {
    config.service(Endpoint::at("/days").get(list_days).done());
}
