//! Every error the API returns is an RFC 9457 problem document
//! (`application/problem+json`), including those of malformed requests, unknown routes
//! and wrong methods.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{DateRangeError, LoadDateError};
use crate::queue::EnqueueError;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:dwh-loader:problem:date-busy",
    "title": "The date already has an active job",
    "status": 409,
    "detail": "2023-01-01 already has a running job; cancel it or wait for it to finish",
    "job_id": "0193a0c4-5a4e-7cc1-9d7e-2f0c1f6f3b11"
}))]
pub struct Problem {
    /// A URN naming the kind of problem; stable, for programs to match on.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong this time, and what to do about it.
    pub detail: String,
    /// The request path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The active job that blocks the request, for `date-busy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<Uuid>,
    /// How many of the day's minutes have no file, for `day-incomplete`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_minutes: Option<usize>,
    /// The datasets there are, for `unknown-dataset`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasets: Option<Vec<String>>,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{detail}")]
    UnknownDataset { detail: String, known: Vec<String> },
    #[error("{detail}")]
    DateBusy { detail: String, job_id: Uuid },
    #[error("{0}")]
    JobFinished(String),
    #[error("{0}")]
    AlreadyCurrent(String),
    #[error("{0}")]
    NoSourceFiles(String),
    #[error("{detail}")]
    DayIncomplete { detail: String, missing: usize },
    #[error("{0}")]
    DayAmbiguous(String),
    #[error("{0}")]
    DayUnfinished(String),
    #[error("{0}")]
    IdempotencyKeyReused(String),
    #[error("{0}")]
    IdempotencyInProgress(String),
    #[error("{0}")]
    Unavailable(String),
    /// Too many wrong tokens from the client's address: 429 with `Retry-After`.
    #[error("{detail}")]
    TooManyFailures {
        detail: String,
        retry_after_secs: u64,
    },
    /// Every place of a bounded resource (event streams) is taken: 503 with `Retry-After`.
    #[error("{detail}")]
    Full {
        detail: String,
        retry_after_secs: u64,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<LoadDateError> for ApiError {
    fn from(error: LoadDateError) -> Self {
        Self::InvalidParameter(error.to_string())
    }
}

impl From<DateRangeError> for ApiError {
    fn from(error: DateRangeError) -> Self {
        Self::InvalidParameter(error.to_string())
    }
}

impl From<EnqueueError> for ApiError {
    fn from(error: EnqueueError) -> Self {
        match error {
            // Contention that a retry settles, like an outage: 503, not a server fault.
            EnqueueError::KeptChanging { .. } => Self::Unavailable(error.to_string()),
            EnqueueError::Database(error) => error.into(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        let outage_code = loader::server_unavailable(&error);
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                Self::Unavailable("the database is not reachable; try again shortly".into())
            }
            _ if outage_code => {
                Self::Unavailable("the database is not available; try again shortly".into())
            }
            // query_canceled: the request's statement_timeout ran out.
            _ if error.as_database_error().and_then(|e| e.code()).as_deref() == Some("57014") => {
                Self::Unavailable(
                    "the database is busy and did not answer in time; try again shortly".into(),
                )
            }
            other => Self::Internal(other.into()),
        }
    }
}

impl ApiError {
    fn kind_and_title(&self) -> (&'static str, &'static str) {
        match self {
            Self::InvalidParameter(_) => ("invalid-parameter", "A parameter is invalid"),
            Self::Unauthorized(_) => ("unauthorized", "Authentication required"),
            Self::Forbidden(_) => ("forbidden", "Not allowed from here"),
            Self::NotFound(_) => ("not-found", "Not found"),
            Self::UnknownDataset { .. } => ("unknown-dataset", "No such dataset"),
            Self::DateBusy { .. } => ("date-busy", "The date already has an active job"),
            Self::JobFinished(_) => ("already-finished", "The job has already finished"),
            Self::AlreadyCurrent(_) => ("already-current", "The version is the current one"),
            Self::NoSourceFiles(_) => ("no-source-files", "No source files for the date"),
            Self::DayIncomplete { .. } => ("day-incomplete", "The day's files are incomplete"),
            Self::DayAmbiguous(_) => ("day-ambiguous", "The day's files are ambiguous"),
            Self::DayUnfinished(_) => ("day-unfinished", "The day's marker file is not there yet"),
            Self::IdempotencyKeyReused(_) => (
                "idempotency-key-reused",
                "The Idempotency-Key was used for another request",
            ),
            Self::IdempotencyInProgress(_) => (
                "idempotency-in-progress",
                "A request with this Idempotency-Key is in progress",
            ),
            Self::Unavailable(_) => ("unavailable", "Service unavailable"),
            Self::TooManyFailures { .. } => ("too-many-failures", "Too many failed attempts"),
            Self::Full { .. } => ("full", "No room for another client"),
            Self::Internal(_) => ("internal", "Internal error"),
        }
    }

    pub fn problem(&self) -> Problem {
        let (kind, title) = self.kind_and_title();
        let detail = match self {
            // The cause goes to the log, not to the client.
            Self::Internal(_) => "an internal error occurred; it has been logged".to_owned(),
            other => other.to_string(),
        };
        Problem {
            kind: format!("urn:dwh-loader:problem:{kind}"),
            title: title.to_owned(),
            status: self.status_code().as_u16(),
            detail,
            instance: None,
            job_id: match self {
                Self::DateBusy { job_id, .. } => Some(*job_id),
                _ => None,
            },
            missing_minutes: match self {
                Self::DayIncomplete { missing, .. } => Some(*missing),
                _ => None,
            },
            datasets: match self {
                Self::UnknownDataset { known, .. } => Some(known.clone()),
                _ => None,
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidParameter(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) | Self::UnknownDataset { .. } => StatusCode::NOT_FOUND,
            Self::DateBusy { .. }
            | Self::JobFinished(_)
            | Self::AlreadyCurrent(_)
            | Self::IdempotencyInProgress(_) => StatusCode::CONFLICT,
            Self::IdempotencyKeyReused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NoSourceFiles(_)
            | Self::DayIncomplete { .. }
            | Self::DayAmbiguous(_)
            | Self::DayUnfinished(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) | Self::Full { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyFailures { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(error) = self {
            tracing::error!(error = format!("{error:#}"), "request failed");
        }
        let mut response = problem_response(&self.problem());
        if let Some(seconds) = self.retry_after_secs() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}

impl ApiError {
    /// When the client may try again, for the errors that know.
    fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::TooManyFailures {
                retry_after_secs, ..
            }
            | Self::Full {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

pub fn problem_response(problem: &Problem) -> HttpResponse {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)));
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
    }
    response.json(problem)
}

/// A problem for a status the routes themselves do not produce (unknown route, wrong method).
pub fn plain(status: StatusCode, kind: &str, detail: String, path: &str) -> HttpResponse {
    problem_response(&Problem {
        kind: format!("urn:dwh-loader:problem:{kind}"),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
        instance: Some(path.to_owned()),
        job_id: None,
        missing_minutes: None,
        datasets: None,
    })
}

/// The 404 of every path no route serves.
pub async fn not_found(request: HttpRequest) -> HttpResponse {
    plain(
        StatusCode::NOT_FOUND,
        "not-found",
        format!(
            "there is no {} {}; the API is described at /docs",
            request.method(),
            request.path()
        ),
        request.path(),
    )
}

/// The 405 of a resource for the methods it does not serve, with its `Allow` header.
pub fn method_not_allowed(request: &HttpRequest, allow: &HeaderValue) -> HttpResponse {
    let mut response = plain(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!(
            "{} is not allowed on {}; allowed: {}",
            request.method(),
            request.path(),
            allow.to_str().unwrap_or_default()
        ),
        request.path(),
    );
    response.headers_mut().insert(header::ALLOW, allow.clone());
    response
}

/// A 400 problem for a request actix could not even parse into a handler's arguments.
fn unparsable<E>(what: &str, error: E, request: &HttpRequest) -> actix_web::Error
where
    E: std::fmt::Display + std::fmt::Debug + 'static,
{
    let response = plain(
        StatusCode::BAD_REQUEST,
        "invalid-parameter",
        format!("invalid {what}: {error}"),
        request.path(),
    );
    actix_web::error::InternalError::from_response(error, response).into()
}

/// Query strings that do not parse answer with a 400 problem.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|error, request| unparsable("query string", error, request))
}

/// Paths that do not parse answer with a 400 problem.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error, request| unparsable("path", error, request))
}
