use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

// Stored in `ops.jobs.status` as its lowercase name (a CHECK admits only these five): a
// value this build does not know fails the read instead of being guessed at. (A plain
// comment: the doc comment below is the OpenAPI schema's description.)
/// Where a job is in its life. `queued` and `running` are active (at most one active job
/// per date); the other three are final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 5] = [
        Self::Queued,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

/// What queued the job: `api` (`POST /jobs?date=`), `backfill` (`POST /jobs?from=&to=`),
/// the watcher of pipeline mode: `auto` (the day's 1,440 files are all there and
/// settled), `changed` (a loaded day's files differ from its load); or `rollback`
/// (`POST /days/{date}/rollback`: swap a kept version of the day back in, loading nothing).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type,
)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum JobTrigger {
    #[default]
    Api,
    Backfill,
    Auto,
    Changed,
    Rollback,
}

impl JobTrigger {
    pub const ALL: [JobTrigger; 5] = [
        Self::Api,
        Self::Backfill,
        Self::Auto,
        Self::Changed,
        Self::Rollback,
    ];

    /// As the jobs table and the API write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Backfill => "backfill",
            Self::Auto => "auto",
            Self::Changed => "changed",
            Self::Rollback => "rollback",
        }
    }
}

/// A clear+load of one day: replace the day's rows in `dwh.data_sample` with the rows of
/// the day's Parquet files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a0c4-5a4e-7cc1-9d7e-2f0c1f6f3b11",
    "dataset": "sample",
    "date": "2023-01-01",
    "status": "succeeded",
    "trigger": "api",
    "attempt": 1,
    "max_attempts": 3,
    "progress": {"files_done": 1440, "files_total": 1440, "rows_done": 2756160, "rows_total": 2756160},
    "rows_loaded": 2756160,
    "replaced_rows": null,
    "error": null,
    "cancel_requested": false,
    "allow_partial": false,
    "force": false,
    "worker_id": "api-7f3c:12345:0",
    "created_at": "2026-11-25T10:00:00.000000Z",
    "started_at": "2026-11-25T10:00:00.120000Z",
    "heartbeat_at": "2026-11-25T10:00:02.400000Z",
    "finished_at": "2026-11-25T10:00:02.510000Z",
    "duration_ms": 2390
}))]
pub struct Job {
    pub id: Uuid,
    /// The dataset whose day it loads (`sample`: the built-in one).
    #[serde(default = "sample")]
    pub dataset: String,
    /// The day loaded.
    #[schema(value_type = String, format = Date, example = "2023-01-01")]
    pub date: NaiveDate,
    pub status: JobStatus,
    /// What queued it.
    #[serde(default)]
    pub trigger: JobTrigger,
    /// Runs started so far (a run cut short by a crash or a transient error is retried).
    pub attempt: i32,
    pub max_attempts: i32,
    pub progress: JobProgress,
    /// Rows in the day after a successful load.
    pub rows_loaded: Option<i64>,
    /// Rows the day held before this load replaced them (null if it was not loaded before).
    pub replaced_rows: Option<i64>,
    pub error: Option<JobError>,
    /// A cancel was asked for while the job was running; it stops at its next check.
    pub cancel_requested: bool,
    /// The job may load the day although minute files are missing (recorded as partial).
    pub allow_partial: bool,
    /// The job may replace the day although that shrinks it below the shrink guard.
    pub force: bool,
    /// For a `rollback` job: the version of the day it swaps back in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_to: Option<i32>,
    /// The audit of the load's staging tables before its swap, once it ran: every check,
    /// passed or not. A failed check of severity `fail` failed the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audits: Option<Vec<crate::domain::AuditFinding>>,
    /// The worker that runs (or last ran) the job.
    pub worker_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    /// Last sign of life of the running worker.
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// From start to finish of the last run, once finished.
    pub duration_ms: Option<i64>,
    /// Every run of the job, oldest first, with its worker, times and error (only in
    /// `GET /jobs/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<Vec<JobAttempt>>,
}

/// One run of a job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
#[schema(example = json!({
    "attempt": 1, "worker_id": "api-7f3c:12345:0",
    "started_at": "2026-11-25T10:00:00.120000Z", "finished_at": "2026-11-25T10:00:31.200000Z",
    "outcome": "requeued",
    "error": {"message": "worker api-7f3c:12345:0 stopped reporting during attempt 1 of 3; requeued",
              "file": null, "row": null, "column": null}
}))]
pub struct JobAttempt {
    pub attempt: i32,
    pub worker_id: String,
    pub started_at: DateTime<Utc>,
    /// Null while the run goes on.
    pub finished_at: Option<DateTime<Utc>>,
    /// `succeeded`, `failed`, `cancelled`, `requeued` (to be run again), or `released`
    /// (handed back at shutdown, not counted); null while the run goes on.
    pub outcome: Option<String>,
    #[sqlx(skip)]
    pub error: Option<JobError>,
}

/// Progress of the current run. Totals are known once the day's files are listed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobProgress {
    pub files_done: i64,
    pub files_total: Option<i64>,
    pub rows_done: i64,
    pub rows_total: Option<i64>,
}

/// Why a job failed: the message, and the file, row and column of bad input where known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "message": "invalid input: data/2023-01-01 00:07:00.parquet, row 12, column product_name: 17 characters, more than VARCHAR(16) allows",
    "file": "data/2023-01-01 00:07:00.parquet",
    "row": 12,
    "column": "product_name"
}))]
pub struct JobError {
    pub message: String,
    pub file: Option<String>,
    /// Row in the file, counting from 0.
    pub row: Option<i64>,
    pub column: Option<String>,
}

fn sample() -> String {
    loader::SAMPLE_DATASET.to_owned()
}
