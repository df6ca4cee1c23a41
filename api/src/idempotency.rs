//! `Idempotency-Key` on `POST /jobs` and `POST /days/{date}/rollback`: a client that sends a request again (after a timeout
//! or a dropped connection) with the same key gets the first request's answer, not a
//! second job. The answer is kept in `ops.idempotency` for 24 hours; the same key with
//! other parameters is refused (422), and while the first request is still being handled
//! a retry answers 409. Answers of server errors (5xx) are not kept: a retry runs anew.

use actix_web::body::to_bytes;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use sqlx::PgPool;

use crate::problem::ApiError;

pub const HEADER: &str = "Idempotency-Key";

/// A key as the client sent it: 1 to 255 visible ASCII characters (a UUID, typically).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The request's key, if it sent one.
    pub fn from_request(request: &HttpRequest) -> Result<Option<Self>, ApiError> {
        let Some(value) = request.headers().get(HEADER) else {
            return Ok(None);
        };
        value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|key| {
                (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
            })
            .map(|key| Some(Self(key.to_owned())))
            .ok_or_else(|| {
                ApiError::InvalidParameter(format!(
                    "{HEADER} must be 1 to 255 visible ASCII characters, e.g. a UUID"
                ))
            })
    }
}

/// Answers `request` once per `Idempotency-Key`, if it has one: `handle`'s answer the
/// first time (kept, errors too), the kept answer after that. `parameters` are the
/// request's, normalised: the key is bound to them.
pub async fn answer_once<F, Fut>(
    pool: &PgPool,
    request: &HttpRequest,
    parameters: &str,
    handle: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<HttpResponse, ApiError>>,
{
    let Some(key) = IdempotencyKey::from_request(request)? else {
        return handle().await;
    };
    match claim(pool, &key, parameters).await? {
        Claim::Replay(response) => Ok(response),
        Claim::New => {
            // Errors are answers too (a 409, a 422): kept like a success, so that a retry
            // gets the same one. Only server errors free the key.
            let response = match handle().await {
                Ok(response) => response,
                Err(error) => error.error_response(),
            };
            save(pool, &key, response).await
        }
    }
}

/// What the key says about a request.
#[derive(Debug)]
enum Claim {
    /// First use: handle the request, then [`save`] its answer.
    New,
    /// The key answered this request before: send this again.
    Replay(HttpResponse),
}

/// Claims `key` for `request` (the request's parameters, normalised), or finds its answer.
async fn claim(pool: &PgPool, key: &IdempotencyKey, request: &str) -> Result<Claim, ApiError> {
    // An expired key is free again; so is one whose first request never got an answer
    // saved within a minute (its process died).
    sqlx::query(
        "DELETE FROM ops.idempotency WHERE key = $1
           AND (created_at < clock_timestamp() - interval '24 hours'
                OR (response_status IS NULL AND created_at < clock_timestamp() - interval '1 minute'))",
    )
    .bind(&key.0)
    .execute(pool)
    .await?;
    let claimed = sqlx::query(
        "INSERT INTO ops.idempotency (key, request) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
    )
    .bind(&key.0)
    .bind(request)
    .execute(pool)
    .await?
    .rows_affected()
        == 1;
    if claimed {
        return Ok(Claim::New);
    }
    let stored: Option<Stored> = sqlx::query_as(
        "SELECT request, response_status AS status, response_location AS location,
                response_body AS body
         FROM ops.idempotency WHERE key = $1",
    )
    .bind(&key.0)
    .fetch_optional(pool)
    .await?;
    match stored {
        // Given up between the two statements: the client may simply retry.
        None => Err(ApiError::IdempotencyInProgress(in_progress())),
        Some(stored) if stored.request != request => Err(ApiError::IdempotencyKeyReused(format!(
            "this {HEADER} was used for another request ({}); use a new key for a new request",
            stored.request
        ))),
        Some(Stored {
            status: Some(status),
            location,
            body,
            ..
        }) => Ok(Claim::Replay(replay(status, location, body)?)),
        Some(_) => Err(ApiError::IdempotencyInProgress(in_progress())),
    }
}

/// A key's row: its request, and the answer once there is one.
#[derive(sqlx::FromRow)]
struct Stored {
    request: String,
    status: Option<i16>,
    location: Option<String>,
    body: Option<Vec<u8>>,
}

fn in_progress() -> String {
    format!("a request with this {HEADER} is still being handled; try again in a moment")
}

fn replay(
    status: i16,
    location: Option<String>,
    body: Option<Vec<u8>>,
) -> Result<HttpResponse, ApiError> {
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| anyhow::anyhow!("a stored answer has status {status}"))?;
    let mut response = HttpResponse::build(status);
    if let Some(location) = location {
        response.insert_header((header::LOCATION, location));
    }
    let content_type = if status.is_success() {
        "application/json"
    } else {
        crate::problem::CONTENT_TYPE
    };
    Ok(response
        .insert_header((header::CONTENT_TYPE, content_type))
        .body(body.unwrap_or_default()))
}

/// Keeps the answer to the key's request, and returns it to be sent. A server error is
/// not kept: the key is released so that a retry runs anew.
async fn save(
    pool: &PgPool,
    key: &IdempotencyKey,
    response: HttpResponse,
) -> Result<HttpResponse, ApiError> {
    if response.status().is_server_error() {
        release(pool, key).await;
        return Ok(response);
    }
    let (head, body) = response.into_parts();
    let body = to_bytes(body)
        .await
        .map_err(|e| anyhow::anyhow!("reading the answer to keep it: {e}"))?;
    let location = head
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    sqlx::query(
        "UPDATE ops.idempotency SET response_status = $2, response_location = $3,
             response_body = $4
         WHERE key = $1",
    )
    .bind(&key.0)
    .bind(i16::try_from(head.status().as_u16()).unwrap_or(i16::MAX))
    .bind(location)
    .bind(body.as_ref())
    .execute(pool)
    .await?;
    Ok(head.set_body(body).map_into_boxed_body())
}

/// Frees the key after a request that failed with a server error.
pub async fn release(pool: &PgPool, key: &IdempotencyKey) {
    if let Err(error) =
        sqlx::query("DELETE FROM ops.idempotency WHERE key = $1 AND response_status IS NULL")
            .bind(&key.0)
            .execute(pool)
            .await
    {
        tracing::warn!(%error, "could not release an idempotency key; it frees itself in a minute");
    }
}

/// Forgets keys older than 24 hours. Returns how many.
pub async fn prune(pool: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM ops.idempotency WHERE created_at < clock_timestamp() - interval '24 hours'",
    )
    .execute(pool)
    .await?
    .rows_affected())
}
