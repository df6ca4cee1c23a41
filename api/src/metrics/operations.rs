//! What a team on call is told by (`deploy/prometheus/alerts.yml`): gauges read from the
//! database at scrape time, so that every instance says the same. Each dataset's days by
//! state and how late its oldest late day is, its newest loaded day, the queue's oldest
//! runnable job, running jobs' silent heartbeats, and jobs failed in the last hour by
//! trigger. Labels are the datasets (declared: few), the day states and the triggers
//! (fixed lists); never a date.

use loader::Dataset;
use prometheus::{IntGaugeVec, Opts, Registry};
use sqlx::PgPool;
use tokio::sync::Mutex;

use crate::catalog::Catalog;
use crate::domain::JobTrigger;
use crate::problem::ApiError;
use crate::queries::datasets::{DaysSummary, days_summary};
use crate::queries::files::FilesView;
use crate::queue;

#[derive(Clone, Debug)]
pub struct OperationsGauges {
    days: IntGaugeVec,
    newest_loaded_day: IntGaugeVec,
    oldest_late_day: IntGaugeVec,
    failed_last_hour: IntGaugeVec,
    oldest_runnable: IntGaugeVec,
    heartbeat_age: IntGaugeVec,
    /// Two scrapes at once would each reset and refill the gauges: one at a time.
    refreshing: std::sync::Arc<Mutex<()>>,
}

fn gauge(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntGaugeVec, prometheus::Error> {
    let gauge = IntGaugeVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(gauge.clone()))?;
    Ok(gauge)
}

impl OperationsGauges {
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        Ok(Self {
            days: gauge(
                registry,
                "dwh_days",
                "Days of each dataset by state: loaded, partial, failed, complete_waiting, \
                 arriving, late (past due and not loaded)",
                &["dataset", "state"],
            )?,
            newest_loaded_day: gauge(
                registry,
                "dwh_newest_loaded_day_timestamp_seconds",
                "Start of the newest loaded day (midnight in the dataset's time zone), Unix time",
                &["dataset"],
            )?,
            oldest_late_day: gauge(
                registry,
                "dwh_oldest_late_day_seconds",
                "How long past due the dataset's oldest late day is; 0 when none is late",
                &["dataset"],
            )?,
            failed_last_hour: gauge(
                registry,
                "dwh_jobs_failed_last_hour",
                "Jobs that ended failed in the last hour, by dataset and trigger",
                &["dataset", "trigger"],
            )?,
            oldest_runnable: gauge(
                registry,
                "dwh_queue_oldest_runnable_seconds",
                "How long the oldest queued job that could run has waited; 0 when none",
                &["dataset"],
            )?,
            heartbeat_age: gauge(
                registry,
                "dwh_running_job_heartbeat_age_seconds",
                "The longest silence of a running job's heartbeat; 0 when none runs",
                &["dataset"],
            )?,
            refreshing: std::sync::Arc::new(Mutex::new(())),
        })
    }

    /// Reads it all again; `then` runs while no other refresh can change the gauges (the
    /// exposition is gathered there).
    pub async fn refresh<T>(
        &self,
        catalog: &Catalog,
        pool: &PgPool,
        files: &FilesView,
        then: impl FnOnce() -> T,
    ) -> Result<T, ApiError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let vitals = queue::vitals(pool).await?;
        for dataset in catalog.all() {
            let name = dataset.name();
            let summary = days_summary(dataset, pool, files).await?;
            self.set_days(&dataset.dataset, &summary);
            for trigger in JobTrigger::ALL {
                let failed = vitals
                    .failed_last_hour
                    .iter()
                    .find(|(d, t, _)| d == name && t == trigger.as_str())
                    .map_or(0, |(_, _, n)| *n);
                self.failed_last_hour
                    .with_label_values(&[name, trigger.as_str()])
                    .set(failed);
            }
            let of = |rows: &[(String, i64)]| {
                rows.iter().find(|(d, _)| d == name).map_or(0, |(_, n)| *n)
            };
            self.oldest_runnable
                .with_label_values(&[name])
                .set(of(&vitals.oldest_runnable));
            self.heartbeat_age
                .with_label_values(&[name])
                .set(of(&vitals.heartbeat_age));
        }
        Ok(then())
    }

    fn set_days(&self, dataset: &Dataset, summary: &DaysSummary) {
        let name = dataset.name.as_str();
        let as_gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        for (state, n) in [
            ("loaded", summary.loaded),
            ("partial", summary.partial),
            ("failed", summary.failed),
            ("complete_waiting", summary.complete_waiting),
            ("arriving", summary.arriving),
            ("late", summary.late),
        ] {
            self.days.with_label_values(&[name, state]).set(as_gauge(n));
        }
        self.oldest_late_day
            .with_label_values(&[name])
            .set(summary.late_seconds.unwrap_or(0).max(0));
        let newest = summary.newest_loaded_day.and_then(|day| {
            day.and_hms_opt(0, 0, 0)?
                .and_local_timezone(dataset.timezone)
                .earliest()
        });
        match newest {
            Some(midnight) => self
                .newest_loaded_day
                .with_label_values(&[name])
                .set(midnight.timestamp()),
            // Nothing loaded: no series, rather than a misleading 1970.
            None => {
                let _ = self.newest_loaded_day.remove_label_values(&[name]);
            }
        }
    }
}
