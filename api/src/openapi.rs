//! The OpenAPI document, generated from the handlers' annotations. The committed copy in
//! `openapi/openapi.json` is checked against it by a test.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::commands::queue_range;
use crate::domain::{
    AuditFinding, AuditSeverity, DayState, DayVersion, Job, JobAttempt, JobError, JobProgress,
    JobStatus,
};
use crate::problem::Problem;
use crate::queries::{
    datasets as dataset_info, days as day_states, jobs as job_pages, versions as day_versions,
};
use crate::routes::event_schemas::{
    DayEvent, DayEventName, EventStream, JobEvent, JobEventKind, JobEventName,
};
use crate::routes::{datasets, days, events, health, jobs, new_jobs, partitions, versions};

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "dwh-loader",
        description = "Replace one day of `dwh.data_sample` from the day's Parquet files, atomically. \
            `POST /jobs?date=2023-01-01` queues a clear+load and answers at once; a worker streams the \
            files into staging tables and swaps them in, so readers see the old day or the new day, \
            never a mix. Errors are RFC 9457 problem documents.\n\n\
            The minute files (`YYYY-MM-DD HH:MM:00.parquet`) come from the server's `DATA_DIR`: a \
            directory (a path or `file:///…`), or a bucket (`s3://bucket/prefix`, `gs://…`, \
            `az://…`). Answers name files relative to it.\n\n\
            Datasets: the built-in `sample` (the minute files above, into `dwh.data_sample`) and \
            those of the server's datasets file, each with its own table, source, file pattern \
            and completeness rule (`GET /datasets` lists them). Every route about a day takes \
            `?dataset=<name>`; without it, it is the sample's. An unknown dataset is a 404 \
            `unknown-dataset` problem naming the known ones.\n\n\
            When the server has an `API_TOKEN`, POST endpoints need `Authorization: Bearer <token>` \
            (the Authorize button).",
        license(name = "MIT"),
    ),
    paths(
        datasets::list_datasets,
        datasets::get_dataset,
        new_jobs::create_jobs,
        jobs::list_jobs,
        jobs::get_job,
        jobs::cancel_job,
        partitions::list_partitions,
        partitions::get_partition,
        days::list_days,
        versions::list_versions,
        versions::rollback,
        events::events,
        health::healthz,
        health::readyz,
        health::metrics,
    ),
    components(schemas(
        Job, JobStatus, JobProgress, JobError, JobAttempt, Problem,
        new_jobs::Created, queue_range::Backfill, queue_range::BusyDate, queue_range::RefusedDate, job_pages::JobPage,
        partitions::Partition, partitions::DaySummary, health::Health,
        day_states::DayStatus, day_states::LatestJob, DayState,
        day_versions::DayVersions, DayVersion, AuditFinding, AuditSeverity,
        JobEvent, JobEventName, JobEventKind, DayEvent, DayEventName,
        dataset_info::DatasetInfo, dataset_info::ColumnInfo, dataset_info::DaysSummary,
    )),
    modifiers(&BearerAuth, &EventStream),
    tags(
        (name = "datasets", description = "The datasets this service loads: their tables, sources, file patterns, completeness rules, columns, and how their days stand"),
        (name = "jobs", description = "Queue day loads, follow them, cancel them"),
        (name = "partitions", description = "What each loaded day holds"),
        (name = "days", description = "Where each day stands: its files, its load, its latest job; its versions, and rolling it back to a kept one"),
        (name = "events", description = "Live events (Server-Sent Events): jobs created, moving, finishing; days whose state changed"),
        (name = "operations", description = "Health, readiness and metrics"),
    )
)]
pub struct ApiDoc;

#[derive(Debug)]
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The server's API_TOKEN"))
                    .build(),
            ),
        );
    }
}

/// The document as this server runs: without an `API_TOKEN` nothing needs a bearer token,
/// so no operation may say it does (clients and fuzzers take the spec at its word).
pub fn served(token_configured: bool) -> utoipa::openapi::OpenApi {
    let mut spec = ApiDoc::openapi();
    if !token_configured {
        for item in spec.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                operation.security = None;
            }
        }
    }
    spec
}

/// The document as committed (as served with a token): pretty JSON with a final newline.
pub fn spec_json() -> String {
    let mut json = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    json.push('\n');
    json
}
