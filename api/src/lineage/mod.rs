//! Lineage, as OpenLineage run events (README, "Operating it"): each run of a job — a
//! load or a rollback — emits START when it begins and COMPLETE, FAIL, or ABORT (a
//! cancel) when it ends, to `OPENLINEAGE_URL` (Marquez, DataHub, OpenMetadata, any
//! OpenLineage backend). The job is named after the dataset; the run is the job's attempt.
//!
//! Delivery never delays or fails a load: a run only puts a note on a bounded queue; a
//! task of its own (`delivery.rs`) builds each event (`event.rs`) and posts it, in order,
//! so a run's START always goes before its end. What cannot be delivered is logged and
//! counted (`dwh_lineage_events_total{outcome}`).

mod delivery;
mod event;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::catalog::Catalog;
use crate::configuration::LineageSettings;
use crate::domain::Job;
use crate::metrics::Metrics;

/// Notes waiting for delivery; beyond it a note is dropped (and counted), never waited for.
const QUEUE: usize = 1024;

/// How a run stands, as an event says it.
#[derive(Clone, Debug)]
pub enum RunState {
    Start,
    /// A load swapped in `rows` rows from `files` files of `bytes` bytes (a rollback: the
    /// version's rows, no files).
    Complete {
        rows: u64,
        files: u64,
        bytes: u64,
    },
    Fail {
        message: String,
    },
    /// Cancelled, or handed back at shutdown.
    Abort,
}

/// One event to emit: a run of `job` and how it stands at `at`.
#[derive(Clone, Debug)]
struct RunNote {
    job: Job,
    run_id: Uuid,
    state: RunState,
    at: DateTime<Utc>,
}

/// Where a process's runs report their lineage; `off` without `OPENLINEAGE_URL`.
#[derive(Clone, Debug)]
pub struct Lineage {
    notes: Option<mpsc::Sender<RunNote>>,
    metrics: Metrics,
}

impl Lineage {
    /// Emits nothing.
    pub fn off(metrics: &Metrics) -> Self {
        Self {
            notes: None,
            metrics: metrics.clone(),
        }
    }

    /// With `OPENLINEAGE_URL` set, starts the delivery task (it drains what is queued and
    /// ends once `shutdown` fires); without, emits nothing.
    pub fn start(
        settings: &LineageSettings,
        catalog: &Catalog,
        pool: &sqlx::PgPool,
        metrics: &Metrics,
        shutdown: CancellationToken,
    ) -> anyhow::Result<(Self, Option<JoinHandle<()>>)> {
        let Some(target) = delivery::Target::from_settings(settings, pool)? else {
            return Ok((Self::off(metrics), None));
        };
        metrics.lineage_started();
        let (notes, queued) = mpsc::channel(QUEUE);
        let deliver = delivery::Delivery {
            target,
            catalog: catalog.clone(),
            pool: pool.clone(),
            metrics: metrics.clone(),
        };
        let task = tokio::spawn(deliver.run(queued, shutdown));
        let lineage = Self {
            notes: Some(notes),
            metrics: metrics.clone(),
        };
        Ok((lineage, Some(task)))
    }

    /// The run of `job`'s current attempt: the same id from any process, so that the
    /// attempt's start and end are one run wherever they are reported.
    pub fn run_id(job: &Job) -> Uuid {
        let digest = Sha256::new()
            .chain_update(job.id.as_bytes())
            .chain_update(job.attempt.to_be_bytes())
            .finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_bytes(bytes)
            .with_variant(uuid::Variant::RFC4122)
            .with_version(uuid::Version::Custom)
            .into_uuid()
    }

    /// `job`'s run is now `state`. Returns at once.
    pub fn emit(&self, job: &Job, state: RunState) {
        let Some(notes) = &self.notes else {
            return;
        };
        let note = RunNote {
            job: job.clone(),
            run_id: Self::run_id(job),
            state,
            at: Utc::now(),
        };
        if let Err(error) = notes.try_send(note) {
            tracing::warn!(%error, "a lineage event was dropped: its queue is full or closed");
            self.metrics.lineage_event("dropped");
        }
    }
}
