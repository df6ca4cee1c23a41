//! A day's current and kept versions, newest first, each with its audit's results.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::catalog::ServedDataset;
use crate::domain::DayVersion;
use crate::problem::ApiError;

/// A day's versions.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "date": "2023-01-01", "current_version": 2,
    "versions": [
        {"version": 2, "current": true, "job_id": "0193a0c4-5a4e-7cc1-9d7e-2f0c1f6f3b11",
         "loaded_at": "2026-11-25T10:00:02.510000Z", "replaced_at": null, "rows": 2756160,
         "files": 1440, "source_bytes": 96468480, "disk_bytes": 262979584, "audits": []},
        {"version": 1, "current": false, "job_id": "0193a0b1-0c2e-7d51-8a6b-5e1f0a9c7d20",
         "loaded_at": "2026-11-24T09:00:01.200000Z", "replaced_at": "2026-11-25T10:00:02.510000Z",
         "rows": 2756160, "files": 1440, "source_bytes": 96468480, "disk_bytes": 262979584,
         "audits": []}
    ]
}))]
pub struct DayVersions {
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// The version readers see; null for a day never loaded whole.
    pub current_version: Option<i32>,
    /// The current version and the kept ones, newest first.
    pub versions: Vec<DayVersion>,
}

/// The versions of `date` of `dataset`.
pub async fn day_versions(
    dataset: &ServedDataset,
    pool: &PgPool,
    date: NaiveDate,
) -> Result<DayVersions, ApiError> {
    let versions: Vec<DayVersion> = dataset
        .versions(pool, date)
        .await?
        .into_iter()
        .map(DayVersion::from)
        .collect();
    Ok(DayVersions {
        date,
        current_version: versions.iter().find(|v| v.current).map(|v| v.version),
        versions,
    })
}
