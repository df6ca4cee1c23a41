//! Prometheus metrics, labelled by dataset where they are about one. Job counts by status
//! and the operational gauges (`operations.rs`: days by state, lateness, the queue) come
//! from the database at scrape time, so every instance reports the same truth; the rest
//! (runs, rows, durations, workers alive) are this process's own. HTTP latency is recorded
//! by the [`record_request`] middleware.

mod operations;

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use sqlx::PgPool;

use crate::catalog::Catalog;
use crate::domain::JobStatus;
use crate::problem::ApiError;
use crate::queries::files::FilesView;
use operations::OperationsGauges;

#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    jobs: IntGaugeVec,
    rows_loaded: IntCounterVec,
    runs_finished: IntCounterVec,
    load_duration: HistogramVec,
    http_duration: HistogramVec,
    workers_alive: IntGauge,
    lineage_events: IntCounterVec,
    operations: OperationsGauges,
}

/// A worker counted in `dwh_workers_alive` for as long as this lives.
#[derive(Debug)]
pub struct WorkerAlive(IntGauge);

impl Drop for WorkerAlive {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let jobs = IntGaugeVec::new(
            Opts::new(
                "dwh_jobs",
                "Jobs in the jobs table, by dataset and status (all instances)",
            ),
            &["dataset", "status"],
        )?;
        let rows_loaded = IntCounterVec::new(
            Opts::new(
                "dwh_rows_loaded_total",
                "Rows swapped into the datasets' tables by this process's workers, by dataset",
            ),
            &["dataset"],
        )?;
        let runs_finished = IntCounterVec::new(
            Opts::new(
                "dwh_job_runs_total",
                "Job runs ended by this process's workers, by dataset and outcome",
            ),
            &["dataset", "outcome"],
        )?;
        let load_duration = HistogramVec::new(
            HistogramOpts::new(
                "dwh_load_duration_seconds",
                "Wall time of day loads, by dataset and outcome",
            )
            .buckets(vec![
                0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0,
            ]),
            &["dataset", "outcome"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency").buckets(
                vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ],
            ),
            &["method", "route", "status"],
        )?;
        registry.register(Box::new(jobs.clone()))?;
        registry.register(Box::new(rows_loaded.clone()))?;
        registry.register(Box::new(runs_finished.clone()))?;
        registry.register(Box::new(load_duration.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        let workers_alive = IntGauge::new(
            "dwh_workers_alive",
            "Workers of this process claiming and running jobs (sum over the instances)",
        )?;
        registry.register(Box::new(workers_alive.clone()))?;
        let lineage_events = IntCounterVec::new(
            Opts::new(
                "dwh_lineage_events_total",
                "OpenLineage events of this process's runs: delivered, failed (after retries), \
                 dropped (the queue was full)",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(lineage_events.clone()))?;
        let operations = OperationsGauges::new(&registry)?;
        Ok(Self {
            registry,
            jobs,
            rows_loaded,
            runs_finished,
            load_duration,
            http_duration,
            workers_alive,
            lineage_events,
            operations,
        })
    }

    /// Lineage is on: every outcome's series exists from the start, at 0.
    pub fn lineage_started(&self) {
        for outcome in ["delivered", "failed", "dropped"] {
            self.lineage_events.with_label_values(&[outcome]);
        }
    }

    /// A lineage event was `delivered`, `failed` or `dropped`.
    pub fn lineage_event(&self, outcome: &str) {
        self.lineage_events.with_label_values(&[outcome]).inc();
    }

    /// A worker started; it counts as alive until the guard is dropped (its loop ended, or
    /// its task was aborted).
    pub fn worker_alive(&self) -> WorkerAlive {
        self.workers_alive.inc();
        WorkerAlive(self.workers_alive.clone())
    }

    /// A run of a job of `dataset` ended with `outcome` (`succeeded`, `failed`,
    /// `cancelled`, `retried`, `released`). The datasets are the declared ones: the label's
    /// values stay few.
    pub fn run_finished(&self, dataset: &str, outcome: &str, elapsed: Duration, rows: Option<u64>) {
        self.runs_finished
            .with_label_values(&[dataset, outcome])
            .inc();
        self.load_duration
            .with_label_values(&[dataset, outcome])
            .observe(elapsed.as_secs_f64());
        if let Some(rows) = rows {
            self.rows_loaded.with_label_values(&[dataset]).inc_by(rows);
        }
    }

    /// `route` is the matched pattern (`/jobs/{id}`), never the raw path, so that the
    /// number of series stays bounded.
    pub fn http_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.http_duration
            .with_label_values(&[method, route, &status.to_string()])
            .observe(elapsed.as_secs_f64());
    }

    /// The text exposition, with the job counts and the operational gauges of each of
    /// `catalog`'s datasets read from the database now.
    pub async fn render(
        &self,
        catalog: &Catalog,
        pool: &PgPool,
        files: &FilesView,
    ) -> Result<String, ApiError> {
        let counts = crate::queue::count_by_status(pool).await?;
        for dataset in catalog.names() {
            for status in JobStatus::ALL {
                let count = counts
                    .iter()
                    .find(|(d, s, _)| *d == dataset && *s == status)
                    .map_or(0, |(_, _, n)| *n);
                self.jobs
                    .with_label_values(&[dataset.as_str(), status.as_str()])
                    .set(count);
            }
        }
        let families = self
            .operations
            .refresh(catalog, pool, files, || self.registry.gather())
            .await?;
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&families, &mut out)
            .map_err(|e| ApiError::Internal(e.into()))?;
        String::from_utf8(out).map_err(|e| ApiError::Internal(e.into()))
    }
}

/// Middleware (with `actix_web::middleware::from_fn`): records each request's latency by
/// method, matched route and status in the app's [`Metrics`].
pub async fn record_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(request.method());
    let metrics = request.app_data::<web::Data<Metrics>>().cloned();
    let response = next.call(request).await?;
    if let Some(metrics) = metrics {
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        metrics.http_request(
            method,
            &route,
            response.status().as_u16(),
            started.elapsed(),
        );
    }
    Ok(response)
}

/// Known methods by name; anything else as `other`, so that the metric's series stay few.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
