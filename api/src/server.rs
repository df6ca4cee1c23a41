//! The HTTP server: what every request shares (pools, settings, the event bus), the
//! middleware every request passes (metrics, tracing, the host check, security headers)
//! and the route table.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use loader::DataSource;
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing_actix_web::TracingLogger;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::{ApiToken, Strikes};
use crate::configuration::Settings;
use crate::events::{ClientSlots, EventBus};
use crate::files_view::FilesView;
use crate::forwarded::TrustedProxies;
use crate::hosts::{self, AllowedHosts};
use crate::intake::Intake;
use crate::metrics::{self, Metrics};
use crate::openapi;
use crate::page_headers;
use crate::problem;
use crate::routes::{self, days, jobs, new_jobs, partitions, versions};
use crate::ui;

/// What the HTTP side shares with the rest of the application.
#[derive(Clone)]
#[allow(missing_debug_implementations)] // Notify and PgPool say nothing useful
pub struct Shared {
    pub source: DataSource,
    pub pool: PgPool,
    pub metrics: Metrics,
    pub wake: Arc<Notify>,
    pub events: Arc<EventBus>,
    pub shutdown: CancellationToken,
}

/// Starts serving on `listener` (the server runs once awaited).
pub fn http_server(
    listener: TcpListener,
    settings: &Settings,
    shared: Shared,
) -> anyhow::Result<Server> {
    let pool = web::Data::new(shared.pool);
    let events = web::Data::from(shared.events);
    let shutdown = web::Data::new(shared.shutdown);
    let metrics = web::Data::new(shared.metrics);
    let token = web::Data::new(ApiToken(settings.api_token().cloned()));
    let strikes = web::Data::new(Strikes::default());
    let hosts = web::Data::new(AllowedHosts::new(&settings.http.allowed_hosts));
    let proxies = web::Data::new(TrustedProxies::new(
        settings.http.proxies().map_err(anyhow::Error::msg)?,
    ));
    let slots = web::Data::new(ClientSlots::new(settings.http.events_max_clients));
    let files = web::Data::new(FilesView::new(
        settings.pipeline.watch.is_on(),
        shared.source.clone(),
    ));
    let intake = web::Data::new(Intake::new(
        shared.source,
        settings.workers.max_attempts,
        shared.wake,
    ));
    let serves_jobs = settings.serves_jobs_api();
    let spec = openapi::served(settings.api_token().is_some());
    let server = HttpServer::new(move || {
        // The last wrapped is the outermost: every response gets the security headers,
        // and requests refused for their host are traced and counted.
        let app = App::new()
            .wrap(from_fn(hosts::refuse_unknown_hosts))
            .wrap(from_fn(metrics::record_request))
            .wrap(TracingLogger::default())
            .wrap(from_fn(page_headers::security_headers))
            .app_data(problem::query_config())
            .app_data(problem::path_config())
            .app_data(pool.clone())
            .app_data(metrics.clone())
            .app_data(token.clone())
            .app_data(strikes.clone())
            .app_data(hosts.clone())
            .app_data(proxies.clone())
            .app_data(slots.clone())
            .app_data(intake.clone())
            .app_data(files.clone())
            .app_data(events.clone())
            .app_data(shutdown.clone())
            .service(resource("/healthz", "GET").route(web::get().to(routes::healthz)))
            .service(resource("/readyz", "GET").route(web::get().to(routes::readyz)))
            .service(resource("/metrics", "GET").route(web::get().to(routes::metrics)));
        let app = if serves_jobs { jobs_api(app) } else { app };
        app.route(
            "/docs",
            web::get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header((header::LOCATION, "/docs/"))
                    .finish()
            }),
        )
        .service(
            // The token typed into Swagger UI lives as long as its tab, as the dashboard's
            // does: persisted, it would stay in the browser's storage for good.
            SwaggerUi::new("/docs/{_:.*}")
                .url("/openapi.json", spec.clone())
                .config(utoipa_swagger_ui::Config::default().persist_authorization(false)),
        )
        .default_service(web::to(problem::not_found))
    })
    .listen(listener)?
    .disable_signals()
    .shutdown_timeout(30)
    .run();
    Ok(server)
}

/// The job API and the dashboard (not served by a `ROLE=worker` instance).
fn jobs_api<T>(app: App<T>) -> App<T>
where
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Error = actix_web::Error,
            InitError = (),
        >,
{
    app.service(
        resource("/jobs", "GET, POST")
            .route(web::get().to(jobs::list_jobs))
            .route(web::post().to(new_jobs::create_jobs)),
    )
    .service(resource("/jobs/{id}", "GET").route(web::get().to(jobs::get_job)))
    .service(resource("/jobs/{id}/cancel", "POST").route(web::post().to(jobs::cancel_job)))
    .service(resource("/partitions", "GET").route(web::get().to(partitions::list_partitions)))
    .service(resource("/partitions/{date}", "GET").route(web::get().to(partitions::get_partition)))
    .service(resource("/days", "GET").route(web::get().to(days::list_days)))
    .service(resource("/days/{date}/versions", "GET").route(web::get().to(versions::list_versions)))
    .service(resource("/days/{date}/rollback", "POST").route(web::post().to(versions::rollback)))
    .service(resource("/events", "GET").route(web::get().to(routes::events::events)))
    .service(resource("/", "GET").route(web::get().to(ui::month::month_page)))
    .service(resource("/days/{date}", "GET").route(web::get().to(ui::day::day_page)))
    .service(resource("/ui/jobs", "GET").route(web::get().to(ui::jobs::jobs_page)))
    .service(resource("/ui/assets/{name}", "GET").route(web::get().to(ui::asset)))
    .service(
        resource("/ui/fragments/day-cell/{date}", "GET")
            .route(web::get().to(ui::month::day_cell_fragment)),
    )
    .service(
        resource("/ui/fragments/versions/{date}", "GET")
            .route(web::get().to(ui::versions::versions_fragment)),
    )
    .service(
        resource("/ui/fragments/active-job/{date}", "GET")
            .route(web::get().to(ui::day::active_job_fragment)),
    )
}

/// A resource whose other methods get a 405 problem with an `Allow` header.
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move |request: HttpRequest| async move {
        problem::method_not_allowed(&request, allow)
    }))
}
