//! Posting the events: one task, one event at a time in the order the runs noted them, a
//! few tries each; what still fails is logged and counted, and the next goes on.

use std::time::Duration;

use anyhow::Context;
// The workspace's reqwest with rustls (object_store's HTTP client, under this name in
// the manifest): a backend behind HTTPS works, and no second HTTP stack is built.
use object_store_tls as http;
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::RunNote;
use super::event::{EventContext, run_event};
use crate::catalog::Catalog;
use crate::configuration::LineageSettings;
use crate::metrics::Metrics;

/// Tries of one event, and the waits between them.
const TRIES: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_millis(500),
    Duration::from_secs(2),
];
/// After shutdown, how long what is queued may still take.
const DRAIN: Duration = Duration::from_secs(5);

/// Where events go, and the names they use for the job and the warehouse.
#[derive(Debug)]
pub(super) struct Target {
    url: String,
    api_key: Option<SecretString>,
    namespace: String,
    /// `postgres://host:port` and the database, as OpenLineage names a PostgreSQL table.
    database: (String, String),
}

impl Target {
    /// `None` without a URL.
    pub(super) fn from_settings(
        settings: &LineageSettings,
        pool: &PgPool,
    ) -> anyhow::Result<Option<Self>> {
        let Some(base) = settings.url.as_deref().filter(|u| !u.trim().is_empty()) else {
            return Ok(None);
        };
        let base = base.trim().trim_end_matches('/');
        let url = format!("{base}/{}", settings.endpoint.trim_start_matches('/'));
        http::Url::parse(&url).with_context(|| format!("OPENLINEAGE_URL: {url:?} is not a URL"))?;
        let options = pool.connect_options();
        let database = (
            format!("postgres://{}:{}", options.get_host(), options.get_port()),
            options.get_database().unwrap_or("postgres").to_owned(),
        );
        Ok(Some(Self {
            url,
            api_key: settings
                .api_key
                .clone()
                .filter(|key| !key.expose_secret().trim().is_empty()),
            namespace: settings.namespace.clone(),
            database,
        }))
    }
}

pub(super) struct Delivery {
    pub(super) target: Target,
    pub(super) catalog: Catalog,
    pub(super) pool: PgPool,
    pub(super) metrics: Metrics,
}

impl Delivery {
    /// Delivers each note until `shutdown`; then, for at most [`DRAIN`], what is queued and
    /// what the stopping workers still say (their runs handed back), until they are gone.
    pub(super) async fn run(self, mut notes: mpsc::Receiver<RunNote>, shutdown: CancellationToken) {
        dwh_common::tls::install_crypto_provider();
        let client = match http::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
        {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(%error, "lineage: no HTTP client; no event will be delivered");
                return;
            }
        };
        loop {
            let note = tokio::select! {
                note = notes.recv() => note,
                () = shutdown.cancelled() => break,
            };
            let Some(note) = note else { return };
            self.deliver(&client, &note).await;
        }
        let drained = async {
            while let Some(note) = notes.recv().await {
                self.deliver(&client, &note).await;
            }
        };
        if tokio::time::timeout(DRAIN, drained).await.is_err() {
            tracing::warn!("lineage: events still queued at shutdown were not delivered");
        }
    }

    async fn deliver(&self, client: &http::Client, note: &RunNote) {
        let event = self.event(note).await;
        let body = event.to_string();
        let mut last_error = String::new();
        for wait in TRIES {
            tokio::time::sleep(wait).await;
            match self.post(client, body.clone()).await {
                Ok(()) => {
                    self.metrics.lineage_event("delivered");
                    return;
                }
                Err(error) => last_error = error,
            }
        }
        tracing::warn!(
            error = %last_error, run_id = %note.run_id, job_id = %note.job.id,
            "lineage: could not deliver an event to {}", self.target.url
        );
        self.metrics.lineage_event("failed");
    }

    async fn post(&self, client: &http::Client, body: String) -> Result<(), String> {
        let mut request = client
            .post(&self.target.url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(key) = &self.target.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the backend answered {status}"))
        }
    }

    /// The note's event; the output's schema is the table's as the database has it now
    /// (left out when it cannot be read).
    async fn event(&self, note: &RunNote) -> serde_json::Value {
        let dataset = self.catalog.get(&note.job.dataset).ok();
        let columns = match dataset {
            Some(dataset) => match dataset.table(&self.pool).await {
                Ok(table) => table.map(|t| t.columns().to_vec()),
                Err(error) => {
                    tracing::warn!(%error, "lineage: the table's columns could not be read");
                    None
                }
            },
            None => None,
        };
        let context = EventContext {
            namespace: &self.target.namespace,
            database: &self.target.database,
            dataset: dataset.map(|d| &d.dataset),
            columns,
        };
        run_event(note, &context)
    }
}
