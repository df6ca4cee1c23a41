//! The HTTP server: what every request shares (pools, settings, the event bus), the
//! middleware every request passes (metrics, tracing, the host check, security headers);
//! it mounts the route tables of `routes/` and `ui/`.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, web};
use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing_actix_web::TracingLogger;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::{ApiToken, Strikes};
use crate::catalog::Catalog;
use crate::configuration::Settings;
use crate::events::{ClientSlots, EventBus};
use crate::forwarded::TrustedProxies;
use crate::hosts::{self, AllowedHosts};
use crate::intake::Intake;
use crate::metrics::{self, Metrics};
use crate::openapi;
use crate::page_headers;
use crate::problem;
use crate::queries::files::FilesView;
use crate::routes;
use crate::ui;

/// What the HTTP side shares with the rest of the application.
#[derive(Clone)]
#[allow(missing_debug_implementations)] // Notify and PgPool say nothing useful
pub struct Shared {
    pub catalog: Catalog,
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
        &shared.catalog,
    ));
    let intake = web::Data::new(Intake::new(settings.workers.max_attempts, shared.wake));
    let catalog = web::Data::new(shared.catalog);
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
            .app_data(catalog.clone())
            .app_data(events.clone())
            .app_data(shutdown.clone())
            .configure(routes::health::configure);
        let app = if serves_jobs {
            app.configure(routes::configure).configure(ui::configure)
        } else {
            app
        };
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
