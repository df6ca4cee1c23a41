//! `GET /datasets` and `GET /datasets/{name}`: the datasets this service loads, each with
//! its declaration and a summary of its days.

use actix_web::web::ServiceConfig;
use actix_web::{HttpResponse, web};
use sqlx::PgPool;

use crate::catalog::Catalog;
use crate::problem::{ApiError, Problem};
use crate::queries::datasets::{DatasetInfo, info};
use crate::queries::files::FilesView;
use crate::routes::endpoint::Endpoint;

/// List the datasets: the built-in `sample` first, then those of the datasets file.
///
/// Every route about a day takes the dataset as `?dataset=<name>` (without it: the
/// sample); a job says its dataset.
#[utoipa::path(
    get,
    path = "/datasets",
    tag = "datasets",
    responses(
        (status = 200, description = "Every dataset, with its declaration and a summary of its days", body = Vec<DatasetInfo>),
        (status = 503, description = "The database is not reachable, or a bucket holding a dataset's files cannot be listed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_datasets(
    catalog: web::Data<Catalog>,
    pool: web::Data<PgPool>,
    files: web::Data<FilesView>,
) -> Result<HttpResponse, ApiError> {
    let mut all = Vec::with_capacity(catalog.all().len());
    for dataset in catalog.all() {
        all.push(info(dataset, &pool, &files).await?);
    }
    Ok(HttpResponse::Ok().json(all))
}

/// Get one dataset: its declaration, its columns as PostgreSQL has them (once its table
/// exists), and a summary of its days.
#[utoipa::path(
    get,
    path = "/datasets/{name}",
    tag = "datasets",
    params(("name" = String, Path, pattern = r"^[a-z][a-z0-9_]{0,62}$", description = "The dataset", example = "sample")),
    responses(
        (status = 200, description = "The dataset", body = DatasetInfo),
        (status = 404, description = "There is no such dataset (`unknown-dataset`, with the `datasets` there are)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is not reachable, or the bucket holding its files cannot be listed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_dataset(
    name: web::Path<String>,
    catalog: web::Data<Catalog>,
    pool: web::Data<PgPool>,
    files: web::Data<FilesView>,
) -> Result<HttpResponse, ApiError> {
    let dataset = catalog.get(&name)?;
    Ok(HttpResponse::Ok().json(info(dataset, &pool, &files).await?))
}

pub fn configure(config: &mut ServiceConfig) {
    config
        .service(Endpoint::at("/datasets").get(list_datasets).done())
        .service(Endpoint::at("/datasets/{name}").get(get_dataset).done());
}
