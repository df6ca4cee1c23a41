//! Builds the application: database pool, migrations, HTTP server (`server.rs`), workers,
//! reaper; and stops it gracefully.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::Server;
use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::ConnectOptions;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::catalog::Catalog;
use crate::configuration::Settings;
use crate::events::{self, EventBus};
use crate::housekeeping;
use crate::lineage::Lineage;
use crate::metrics::Metrics;
use crate::pipeline::{self, Pipeline};
use crate::server;
use crate::worker::{self, RunOutcome, WorkerContext};

/// A built application: listening, with its workers running.
#[allow(missing_debug_implementations)] // actix's Server is not Debug
pub struct Application {
    port: u16,
    server: Server,
    background: Vec<JoinHandle<()>>,
    shutdown: CancellationToken,
}

impl Application {
    /// Connects to `settings.database_url` and builds the application.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = workers_pool(&settings)?;
        Self::build_with_pool(settings, pool).await
    }

    /// Builds the application on an existing pool for its workers (tests give each app a
    /// fresh database); HTTP requests get a pool of their own to the same database.
    pub async fn build_with_pool(settings: Settings, pool: PgPool) -> anyhow::Result<Self> {
        settings.check().map_err(anyhow::Error::msg)?;
        let catalog = Catalog::open(&settings)?;
        migrate(&pool).await?;
        // collect_garbage logs what it drops.
        if let Err(error) = loader::collect_garbage(&pool).await {
            tracing::warn!(%error, "could not look for leftover staging tables");
        }
        let listener = TcpListener::bind(settings.http.bind)
            .with_context(|| format!("cannot listen on {}", settings.http.bind))?;
        let port = listener.local_addr()?.port();
        let metrics = Metrics::new().context("metrics registry")?;
        let wake = Arc::new(Notify::new());
        let shutdown = CancellationToken::new();
        let http_pool = http_pool(&settings, &pool)?;
        let events = Arc::new(EventBus::default());
        let shared = server::Shared {
            catalog: catalog.clone(),
            pool: http_pool,
            metrics: metrics.clone(),
            wake: Arc::clone(&wake),
            events: Arc::clone(&events),
            shutdown: shutdown.clone(),
        };
        let server = server::http_server(listener, &settings, shared)?;
        let (lineage, lineage_task) = Lineage::start(
            &settings.lineage,
            &catalog,
            &pool,
            &metrics,
            shutdown.clone(),
        )?;
        let context = worker_context(
            &settings, &catalog, &pool, &metrics, lineage, &wake, &shutdown,
        );
        let mut background = spawn_workers(&settings, context);
        if settings.serves_jobs_api() {
            background.push(tokio::spawn(events::relay(
                pool.clone(),
                events,
                shutdown.clone(),
            )));
        }
        // Last: awaited once the workers have said how their runs ended.
        background.extend(lineage_task);
        tracing::info!(
            address = %format!("{}:{port}", settings.http.bind.ip()), workers = settings.worker_count(),
            source = %catalog.sample().source, datasets = ?catalog.names(), "listening"
        );
        Ok(Self {
            port,
            server,
            background,
            shutdown,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Cancelling this token stops the application as SIGTERM does.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until SIGTERM, Ctrl-C or the shutdown token; then stops claiming jobs, stops
    /// running loads and hands their jobs back, and finishes in-flight requests.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let mut server = tokio::spawn(self.server);
        let result = tokio::select! {
            result = &mut server => Some(result),
            () = stop_signal() => None,
            () = self.shutdown.cancelled() => None,
        };
        tracing::info!("shutting down");
        self.shutdown.cancel();
        for task in self.background {
            if let Err(error) = task.await {
                tracing::error!(%error, "a worker task failed");
            }
        }
        match result {
            Some(result) => result?.context("HTTP server")?,
            None => {
                handle.stop(true).await;
                server.await?.context("HTTP server")?;
            }
        }
        tracing::info!("stopped");
        Ok(())
    }
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The HTTP side's pool: separate from the workers' (HTTP traffic cannot starve a load of
/// connections), connecting as `HTTP_DATABASE_URL`'s role when there is one (it reads and
/// queues jobs only), and every statement on it limited to `HTTP_STATEMENT_TIMEOUT_MS`.
fn http_pool(settings: &Settings, workers: &PgPool) -> anyhow::Result<PgPool> {
    let timeout = settings.http.http_statement_timeout_ms.to_string();
    let options = match settings.http.database_url() {
        Some(url) => url
            .expose_secret()
            .parse::<PgConnectOptions>()
            .context("HTTP_DATABASE_URL is not a valid PostgreSQL URL")?,
        None => workers.connect_options().as_ref().clone(),
    }
    .application_name("dwh-loader http")
    .options([("statement_timeout", timeout.as_str())]);
    Ok(PgPoolOptions::new()
        .max_connections(settings.http.http_db_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options))
}

/// Applies the migrations, waiting up to a minute for the database to come up (a
/// container may start before PostgreSQL accepts connections). Several instances starting
/// at once are serialised by sqlx's migration lock.
async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match loader::MIGRATOR.run(pool).await {
            Ok(()) => return Ok(()),
            Err(sqlx::migrate::MigrateError::Execute(error))
                if is_connection_error(&error) && Instant::now() < deadline =>
            {
                tracing::warn!(%error, "database not reachable yet; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(error) => return Err(error).context("applying migrations"),
        }
    }
}

fn is_connection_error(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut)
        || loader::server_unavailable(error)
}

/// The reaper, housekeeping, this instance's workers (sharing `context`) and its watcher.
fn spawn_workers(settings: &Settings, context: WorkerContext) -> Vec<JoinHandle<()>> {
    // The reaper runs in every instance that reaches the database, whatever its role: a
    // deployment of API-only instances whose workers died must still take their jobs back.
    let reaper = tokio::spawn(worker::reap(
        context.pool.clone(),
        context.stale_after,
        context.shutdown.clone(),
    ));
    let housekeeping = tokio::spawn(housekeeping::run(
        context.pool.clone(),
        settings.workers.job_retention(),
        context.catalog.clone(),
        context.shutdown.clone(),
    ));
    let instance = instance_id();
    let mut tasks: Vec<JoinHandle<()>> = (0..settings.worker_count())
        .map(|n| tokio::spawn(worker::run(context.clone(), format!("{instance}:{n}"))))
        .collect();
    tasks.extend([reaper, housekeeping]);
    if settings.watches() {
        tasks.push(tokio::spawn(pipeline::run(Pipeline {
            pool: context.pool,
            source: context.catalog.sample().source.clone(),
            catalog: context.catalog,
            settle: Duration::from_secs(settings.pipeline.settle_secs),
            rescan: Duration::from_secs(settings.pipeline.rescan_secs),
            live: settings.pipeline.live.is_on(),
            max_attempts: settings.workers.max_attempts,
            wake: context.wake,
            shutdown: context.shutdown,
        })));
    }
    tasks
}

/// The workers' pool: `DB_MAX_CONNECTIONS`, connecting when first needed.
fn workers_pool(settings: &Settings) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = settings
        .database_url()
        .map_err(anyhow::Error::msg)?
        .expose_secret()
        .parse()
        .context("DATABASE_URL is not a valid PostgreSQL URL")?;
    // Named (unless the URL names it), so that an operator, and a load finding its day
    // locked, can tell our sessions.
    let options = match options.get_application_name() {
        Some(_) => options,
        None => options.application_name("dwh-loader worker"),
    };
    // A load's statements are long by nature (a COPY, an index built on a day's rows): a
    // warning for each over a second would be noise; they are logged at debug level.
    let options =
        options.log_slow_statements(tracing::log::LevelFilter::Debug, Duration::from_secs(1));
    Ok(PgPoolOptions::new()
        .max_connections(settings.workers.db_max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options))
}

fn worker_context(
    settings: &Settings,
    catalog: &Catalog,
    pool: &PgPool,
    metrics: &Metrics,
    lineage: Lineage,
    wake: &Arc<Notify>,
    shutdown: &CancellationToken,
) -> WorkerContext {
    WorkerContext {
        pool: pool.clone(),
        catalog: catalog.clone(),
        metrics: metrics.clone(),
        lineage,
        wake: Arc::clone(wake),
        poll_interval: settings.workers.poll_interval(),
        heartbeat_interval: settings.workers.heartbeat_interval(),
        stale_after: settings.workers.stale_after(),
        shutdown: shutdown.clone(),
    }
}

/// `api run-once`: no HTTP, no watcher, no reaper (the always-on instances keep those);
/// claims and runs queued jobs (one, or until none is queued) as a long-lived worker
/// would, and returns how each ended. SIGTERM stops the running load and hands its job
/// back, as in the service.
pub async fn run_once(settings: Settings, until_empty: bool) -> anyhow::Result<Vec<RunOutcome>> {
    settings.check_worker().map_err(anyhow::Error::msg)?;
    let catalog = Catalog::open(&settings)?;
    let pool = workers_pool(&settings)?;
    migrate(&pool).await?;
    if let Err(error) = loader::collect_garbage(&pool).await {
        tracing::warn!(%error, "could not look for leftover staging tables");
    }
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        stop_signal().await;
        tracing::info!("stopping: the running load is handed back");
        stop.cancel();
    });
    let metrics = Metrics::new().context("metrics registry")?;
    // Its own stop: the runs' last events are delivered after the work, before the exit.
    let lineage_stop = CancellationToken::new();
    let (lineage, lineage_task) = Lineage::start(
        &settings.lineage,
        &catalog,
        &pool,
        &metrics,
        lineage_stop.clone(),
    )?;
    let context = worker_context(
        &settings,
        &catalog,
        &pool,
        &metrics,
        lineage,
        &Arc::new(Notify::new()),
        &shutdown,
    );
    let worker_id = format!("{}:once", instance_id());
    let outcomes = worker::run_once(context, worker_id, until_empty).await;
    lineage_stop.cancel();
    if let Some(task) = lineage_task {
        let _ = task.await;
    }
    pool.close().await;
    Ok(outcomes?)
}

/// Names this process in `worker_id`s: host (container id in Docker), pid and a random
/// suffix, so that two processes never share an id.
fn instance_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &suffix[..6])
}
