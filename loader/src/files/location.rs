//! Where a dataset's files are: a directory (a path, or a `file://` URL) or a bucket
//! (`s3://`, `gs://`, `az://`; see `bucket`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use chrono::NaiveDate;

use crate::error::LoadError;
use crate::files::bucket::{Bucket, StorageSettings};
use crate::files::layout::{Layout, files_in_dir, list_dir_day};
use crate::files::listing::{self, DayFiles};

/// The place a load reads a day's files from.
#[derive(Debug, Clone)]
pub enum DataSource {
    Dir(PathBuf),
    Bucket(Bucket),
}

impl DataSource {
    /// `s3://bucket/prefix`, `gs://…` and `az://…` name a bucket; `file:///path` and any
    /// other text a directory.
    pub fn parse(text: &str, settings: StorageSettings) -> Result<Self, LoadError> {
        if Self::names_a_bucket(text) {
            return Bucket::from_url(text, settings).map(Self::Bucket);
        }
        let path = text.strip_prefix("file://").unwrap_or(text);
        Ok(Self::Dir(PathBuf::from(path)))
    }

    /// Whether [`parse`](Self::parse) takes `text` for a bucket (without building its
    /// client).
    pub fn names_a_bucket(text: &str) -> bool {
        text.contains("://") && !text.starts_with("file://")
    }

    /// Whether changes can be watched for (a directory), or only listed again (a bucket).
    pub fn is_dir(&self) -> bool {
        matches!(self, Self::Dir(_))
    }

    /// The files of `date`.
    pub async fn list_day(&self, date: NaiveDate) -> Result<DayFiles, LoadError> {
        match self {
            Self::Dir(dir) => {
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || listing::list_day(&dir, date))
                    .await
                    .map_err(|e| LoadError::internal("listing the directory failed", e))?
            }
            Self::Bucket(bucket) => bucket.list_day(date).await,
        }
    }

    /// Every day that has files, from one listing.
    pub async fn list_days(&self) -> Result<BTreeMap<NaiveDate, DayFiles>, LoadError> {
        match self {
            Self::Dir(dir) => {
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || listing::list_days(&dir))
                    .await
                    .map_err(|e| LoadError::internal("listing the directory failed", e))?
            }
            Self::Bucket(bucket) => bucket.list_days().await,
        }
    }
}

impl DataSource {
    /// The files of `date` as `layout` finds them (the sample's by its own lister).
    pub async fn list_layout_day(
        &self,
        layout: &Layout,
        date: NaiveDate,
    ) -> Result<DayFiles, LoadError> {
        match (self, layout) {
            (_, Layout::SampleMinutes) => self.list_day(date).await,
            (Self::Dir(dir), _) => {
                let (dir, layout) = (dir.clone(), layout.clone());
                tokio::task::spawn_blocking(move || list_dir_day(&dir, &layout, date))
                    .await
                    .map_err(|e| LoadError::internal("listing the directory failed", e))?
            }
            (Self::Bucket(bucket), _) => bucket.list_day_in(layout, date).await,
        }
    }

    /// Every day that has files by `layout`, each listed as a load would list it: one
    /// walk (or listing) of the whole source to find the days, then one of each day.
    pub async fn list_layout_days(
        &self,
        layout: &Layout,
    ) -> Result<BTreeMap<NaiveDate, DayFiles>, LoadError> {
        let dates: BTreeSet<NaiveDate> = match (self, layout) {
            (_, Layout::SampleMinutes) => return self.list_days().await,
            (Self::Dir(dir), _) => {
                let (dir, layout) = (dir.clone(), layout.clone());
                tokio::task::spawn_blocking(move || match files_in_dir(&dir, &layout) {
                    // A source directory not made yet has no days.
                    Err(LoadError::SourceDir { source, .. })
                        if source.kind() == std::io::ErrorKind::NotFound =>
                    {
                        Ok(Vec::new())
                    }
                    found => found,
                })
                .await
                .map_err(|e| LoadError::internal("listing the directory failed", e))??
                .into_iter()
                .map(|(_, date)| date)
                .collect()
            }
            (Self::Bucket(bucket), _) => bucket
                .list_objects_below()
                .await?
                .iter()
                .filter_map(|object| layout.date_of(&object.name))
                .collect(),
        };
        let mut days = BTreeMap::new();
        for date in dates {
            days.insert(date, self.list_layout_day(layout, date).await?);
        }
        Ok(days)
    }
}

impl fmt::Display for DataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dir(dir) => write!(f, "{}", dir.display()),
            Self::Bucket(bucket) => f.write_str(bucket.url()),
        }
    }
}
