//! The audit file: which checks run, on which columns, with what severity and bounds. One
//! `[[check]]` entry per check, of one of six kinds: `rows_per_file`, `nulls`, `distinct`,
//! `order`, `range`, `change`.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The sample's audit, as committed in `loader/audits.toml`.
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

/// One check, as configured.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// What results call it (`rows per minute`); each kind has a default.
    pub name: String,
    pub severity: Severity,
    pub kind: CheckKind,
}

/// What a check measures, and its bounds.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckKind {
    /// Every file holds between `min` and `max` rows (`expected`: both).
    RowsPerFile { min: u64, max: u64 },
    /// At most `max` nulls in each of `columns` (none named: every column).
    Nulls { columns: Vec<String>, max: u64 },
    /// The number of distinct values of `column` lies in `[min, max]`.
    Distinct { column: String, min: i64, max: i64 },
    /// On every row where both are set, `after` is later than (greater than) `before`.
    Order { before: String, after: String },
    /// Every value of the numeric `column` lies in `[min, max]` (either may be left out).
    Range {
        column: String,
        min: Option<f64>,
        max: Option<f64>,
    },
    /// Rows (and the distinct counts the day records) stay within `max_percent` of the
    /// current version's.
    Change { max_percent: f64 },
}

/// The checks to run, in the file's order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditConfig {
    pub checks: Vec<Check>,
}

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    check: Vec<Entry>,
}

/// One `[[check]]` as written: every kind's fields, checked per kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    kind: String,
    name: Option<String>,
    severity: Severity,
    expected: Option<u64>,
    min: Option<toml::Value>,
    max: Option<toml::Value>,
    column: Option<String>,
    columns: Option<Vec<String>>,
    before: Option<String>,
    after: Option<String>,
    max_percent: Option<f64>,
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
    /// The committed audit of the sample.
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
        let file: File = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let checks = file
            .check
            .into_iter()
            .enumerate()
            .map(|(n, entry)| {
                let kind = entry.kind.clone();
                entry
                    .into_check()
                    .map_err(|why| invalid(format!("check {} (kind {kind}): {why}", n + 1)))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { checks })
    }

    /// Every column the checks name, with the check naming it.
    pub fn columns(&self) -> Vec<(&str, &str)> {
        let mut named = Vec::new();
        for check in &self.checks {
            let columns: Vec<&str> = match &check.kind {
                CheckKind::Nulls { columns, .. } => columns.iter().map(String::as_str).collect(),
                CheckKind::Distinct { column, .. } | CheckKind::Range { column, .. } => {
                    vec![column]
                }
                CheckKind::Order { before, after } => vec![before, after],
                CheckKind::RowsPerFile { .. } | CheckKind::Change { .. } => Vec::new(),
            };
            named.extend(columns.into_iter().map(|c| (check.name.as_str(), c)));
        }
        named
    }
}

impl Entry {
    fn into_check(self) -> Result<Check, String> {
        let (kind, default_name) = self.kind()?;
        Ok(Check {
            name: self.name.unwrap_or(default_name),
            severity: self.severity,
            kind,
        })
    }

    /// The kind and its default name.
    fn kind(&self) -> Result<(CheckKind, String), String> {
        let column = || {
            self.column
                .clone()
                .ok_or_else(|| format!("kind {} needs column", self.kind))
        };
        Ok(match self.kind.as_str() {
            "rows_per_file" => {
                let (min, max) = match (
                    self.expected,
                    self.whole(&self.min)?,
                    self.whole(&self.max)?,
                ) {
                    (Some(n), None, None) => (n, n),
                    (None, min, max) if min.is_some() || max.is_some() => {
                        (min.unwrap_or(0), max.unwrap_or(u64::MAX))
                    }
                    _ => return Err("rows_per_file takes expected, or min and/or max".to_owned()),
                };
                if min > max {
                    return Err(format!("min ({min}) is above max ({max})"));
                }
                (
                    CheckKind::RowsPerFile { min, max },
                    "rows per file".to_owned(),
                )
            }
            "nulls" => {
                let max = self.whole(&self.max)?.unwrap_or(0);
                let columns = self.columns.clone().unwrap_or_default();
                (
                    CheckKind::Nulls { columns, max },
                    "nulls per column".to_owned(),
                )
            }
            "distinct" => {
                let column = column()?;
                let (min, max) = (self.integer(&self.min)?, self.integer(&self.max)?);
                let (Some(min), Some(max)) = (min, max) else {
                    return Err("distinct takes min and max".to_owned());
                };
                if min > max {
                    return Err(format!("min ({min}) is above max ({max})"));
                }
                let name = format!("distinct {column} values");
                (CheckKind::Distinct { column, min, max }, name)
            }
            "order" => {
                let (Some(before), Some(after)) = (self.before.clone(), self.after.clone()) else {
                    return Err("order takes before and after (two column names)".to_owned());
                };
                let name = format!("{after} after {before}");
                (CheckKind::Order { before, after }, name)
            }
            "range" => {
                let column = column()?;
                let (min, max) = (self.number(&self.min)?, self.number(&self.max)?);
                if min.is_none() && max.is_none() {
                    return Err("range takes min and/or max".to_owned());
                }
                let name = format!("{column} within range");
                (CheckKind::Range { column, min, max }, name)
            }
            "change" => {
                let max_percent = self.max_percent.ok_or("change takes max_percent")?;
                if max_percent.is_nan() || max_percent < 0.0 {
                    return Err(format!("max_percent must be 0 or more, not {max_percent}"));
                }
                let name = "change against the current version".to_owned();
                (CheckKind::Change { max_percent }, name)
            }
            other => {
                return Err(format!(
                    "kind {other:?} is not a check; the kinds are rows_per_file, nulls, \
                     distinct, order, range, change"
                ));
            }
        })
    }

    fn number(&self, value: &Option<toml::Value>) -> Result<Option<f64>, String> {
        match value {
            None => Ok(None),
            Some(toml::Value::Integer(n)) => Ok(Some(*n as f64)),
            Some(toml::Value::Float(x)) => Ok(Some(*x)),
            Some(other) => Err(format!("a {} is not a number", other.type_str())),
        }
    }

    fn integer(&self, value: &Option<toml::Value>) -> Result<Option<i64>, String> {
        match value {
            None => Ok(None),
            Some(toml::Value::Integer(n)) => Ok(Some(*n)),
            Some(other) => Err(format!("a {} is not a whole number", other.type_str())),
        }
    }

    fn whole(&self, value: &Option<toml::Value>) -> Result<Option<u64>, String> {
        self.integer(value)?
            .map(|n| u64::try_from(n).map_err(|_| format!("{n} is below 0")))
            .transpose()
    }
}
