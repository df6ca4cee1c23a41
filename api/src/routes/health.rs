//! Liveness, readiness and metrics.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::catalog::Catalog;
use crate::metrics::Metrics;
use crate::problem::{ApiError, Problem};
use crate::queries::files::FilesView;
use crate::routes::endpoint::Endpoint;
use actix_web::web::ServiceConfig;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

/// The process is up (it does not look at the database).
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
    })
}

/// The database is reachable and every migration this build knows is applied.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "The database is unreachable or not migrated", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn readyz(pool: web::Data<PgPool>) -> Result<HttpResponse, ApiError> {
    let unavailable = |why: String| ApiError::Unavailable(why);
    let applied = tokio::time::timeout(Duration::from_secs(2), applied_migrations(&pool))
        .await
        .map_err(|_| unavailable("the database did not answer within 2 s".into()))?
        .map_err(|e| {
            // The cause (which may name the server) goes to the log, not to the client.
            tracing::warn!(error = %e, "readiness check: database not reachable");
            unavailable("the database is not reachable".into())
        })?;
    let missing: Vec<i64> = loader::MIGRATOR
        .iter()
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .collect();
    if !missing.is_empty() {
        return Err(unavailable(format!(
            "migrations {missing:?} are not applied; run `loader migrate` or restart the API"
        )));
    }
    Ok(HttpResponse::Ok().json(Health {
        status: "ready".into(),
    }))
}

async fn applied_migrations(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    let table_exists: bool =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(pool)
            .await?;
    if !table_exists {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
        .fetch_all(pool)
        .await
}

/// Prometheus metrics: jobs, runs, rows, durations, workers, late days, the queue, HTTP.
///
/// Every dataset's days by state and lateness, the queue's oldest runnable job and running
/// jobs' heartbeats are read from the database at each scrape (README, "Operating it").
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 503, description = "The database is not reachable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn metrics(
    metrics: web::Data<Metrics>,
    catalog: web::Data<Catalog>,
    pool: web::Data<PgPool>,
    files: web::Data<FilesView>,
) -> Result<HttpResponse, ApiError> {
    let text = metrics.render(&catalog, &pool, &files).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text))
}

/// Health and metrics, served by every instance (a `ROLE=worker` one too).
pub fn configure(config: &mut ServiceConfig) {
    config
        .service(Endpoint::at("/healthz").get(healthz).done())
        .service(Endpoint::at("/readyz").get(readyz).done())
        .service(Endpoint::at("/metrics").get(metrics).done());
}
