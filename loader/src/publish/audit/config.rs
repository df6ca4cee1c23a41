//! The audit file: which checks run, with what severity and bounds.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The defaults for the dataset, as committed in `loader/audits.toml`.
const DEFAULTS: &str = include_str!("../../../audits.toml");

/// What a failing check does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Refuse the load.
    Fail,
    /// Publish, and record the finding.
    Warn,
}

/// The checks to run; a check left out of the file is not run.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    pub rows_per_minute: Option<RowsPerMinute>,
    pub nulls: Option<Nulls>,
    pub expire_after_create: Option<ExpireAfterCreate>,
    pub distinct_department_names: Option<DistinctRange>,
    pub change: Option<Change>,
}

/// Every minute present holds `expected` rows.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowsPerMinute {
    pub severity: Severity,
    pub expected: u64,
}

/// At most `max` nulls in each column.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nulls {
    pub severity: Severity,
    #[serde(default)]
    pub max: u64,
}

/// `product_expire` is after `create_at` on every row.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpireAfterCreate {
    pub severity: Severity,
}

/// The number of distinct values lies in `[min, max]`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistinctRange {
    pub severity: Severity,
    pub min: i64,
    pub max: i64,
}

/// Rows and distinct names stay within `max_percent` of the current version's.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub severity: Severity,
    pub max_percent: f64,
}

/// The audit file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AuditConfigError {
    #[error("cannot read the audit file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    // toml's message names the line and column, and shows the line.
    #[error("the audit file {path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

impl AuditConfig {
    /// The committed defaults for the dataset.
    pub fn defaults() -> Self {
        Self::parse(DEFAULTS, "loader/audits.toml").expect("the committed audit file is valid")
    }

    /// The audit a setting (`AUDITS_FILE`, `--audits`) names: unset or empty, the committed
    /// defaults; `off`, none; otherwise the TOML file at that path.
    pub fn from_setting(setting: Option<&str>) -> Result<Option<Self>, AuditConfigError> {
        match setting.map(str::trim) {
            None | Some("") => Ok(Some(Self::defaults())),
            Some("off") => Ok(None),
            Some(path) => Self::from_file(Path::new(path)).map(Some),
        }
    }

    /// Reads the checks from a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, AuditConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| AuditConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&text, &shown)
    }

    /// Parses `text`, naming `origin` in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, AuditConfigError> {
        let invalid = |message: String| AuditConfigError::Invalid {
            path: origin.to_owned(),
            message,
        };
        let config: Self = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if let Some(range) = &config.distinct_department_names
            && range.min > range.max
        {
            return Err(invalid(format!(
                "distinct_department_names: min ({}) is above max ({})",
                range.min, range.max
            )));
        }
        if let Some(change) = &config.change
            && (change.max_percent.is_nan() || change.max_percent < 0.0)
        {
            return Err(invalid(format!(
                "change: max_percent must be 0 or more, not {}",
                change.max_percent
            )));
        }
        Ok(config)
    }
}
