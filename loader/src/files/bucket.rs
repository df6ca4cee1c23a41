//! Minute files in object storage: `s3://bucket/prefix`, `gs://bucket/prefix` or
//! `az://container/prefix`, through the `object_store` crate (the Arrow project's own), with
//! each platform's standard credential variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, `GOOGLE_*`, `AZURE_*`).
//!
//! The rules of a directory hold for a bucket: a day is its objects named
//! `<prefix>/YYYY-MM-DD HH:MM:00.parquet`, judged whole or not by `listing`; each footer is
//! checked before any of its rows is copied (a ranged read of the object's tail; `ahead`
//! reads them while the COPY runs); and every read names the ETag the listing saw
//! (`If-Match`), so an object replaced between its check and its COPY fails the load,
//! naming it, instead of mixing two versions.
//!
//! Transient errors (5xx, throttling, timeouts, a dropped connection) are retried by
//! `object_store` with exponential back-off for up to [`StorageSettings::retry_timeout`];
//! permanent ones (403, 404, bad credentials) fail at once. Reading the checked objects is
//! in `objects`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::NaiveDate;
use dwh_common::bucket::OpenedBucket;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ObjectMeta, ObjectStore, RetryConfig};
use tokio_util::sync::CancellationToken;

use crate::error::{InputError, LoadError};
use crate::files::footers::{
    Fingerprint, SourceFile, check_footer, footer_in, metadata_length, schema_of_footer,
};
use crate::files::listing::{DayFiles, day_of};
use crate::files::object::{SourceObject, storage_error};
use crate::files::parquet_support;
use crate::warehouse::table::Table;

mod by_pattern;

/// Footers are read with one ranged request of the object's last bytes; a footer longer
/// than this takes a second request. The generator's are 3.7 KB; a larger guess only
/// moves more bytes (64 KiB cost the S3 server a quarter more CPU per load).
const FOOTER_GUESS: u64 = 16 * 1024;
/// Footers read at once while a day is inspected (1,440 small requests).
const FOOTER_READS_IN_FLIGHT: usize = 128;

/// How hard to try before a storage error fails the load.
#[derive(Debug, Clone, Copy)]
pub struct StorageSettings {
    /// Retries of one request on transient errors, with exponential back-off, and the
    /// total time they may take.
    pub max_retries: usize,
    pub retry_timeout: Duration,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            max_retries: 10,
            retry_timeout: Duration::from_secs(60),
        }
    }
}

/// A bucket (or container) and a prefix in it where the minute files are.
#[derive(Clone)]
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    /// `scheme://bucket/prefix`, for messages: never credentials.
    url: String,
}

impl fmt::Debug for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bucket").field("url", &self.url).finish()
    }
}

impl Bucket {
    /// The bucket a URL names. Credentials and endpoints come from the environment, as each
    /// platform's own tools read them.
    pub fn from_url(url: &str, settings: StorageSettings) -> Result<Self, LoadError> {
        let bad = |reason: String| LoadError::Storage {
            url: url.to_owned(),
            reason,
            transient: false,
        };
        let retry = RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: settings.max_retries,
            retry_timeout: settings.retry_timeout,
        };
        let opened = dwh_common::bucket::open(url, Some(retry)).map_err(bad)?;
        let OpenedBucket { store, prefix, url } = opened;
        Ok(Self { store, prefix, url })
    }

    /// A bucket over any store (tests, other back-ends).
    pub fn with_store(store: Arc<dyn ObjectStore>, prefix: &str, url: &str) -> Self {
        Self {
            store,
            prefix: ObjectPath::from(prefix),
            url: url.to_owned(),
        }
    }

    /// `scheme://bucket/prefix`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The store and the location of the object `name` under the prefix.
    pub fn location(&self, name: &str) -> (Arc<dyn ObjectStore>, ObjectPath) {
        (self.store.clone(), self.key(name))
    }

    /// A name under the prefix, perhaps with folders (`dt=2024-03-09/part-0.parquet`),
    /// joined part by part: a part holds no `/`.
    fn key(&self, name: &str) -> ObjectPath {
        name.split('/')
            .filter(|part| !part.is_empty())
            .fold(self.prefix.clone(), |path, part| path.join(part))
    }

    /// How an object is named in messages.
    fn display(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("{}/{name}", self.url.trim_end_matches('/')))
    }

    /// The object's path under the prefix, however deep.
    fn relative_name<'a>(&self, location: &'a ObjectPath) -> Option<&'a str> {
        let key = location.as_ref();
        if self.prefix.as_ref().is_empty() {
            return Some(key);
        }
        key.strip_prefix(self.prefix.as_ref())?.strip_prefix('/')
    }

    /// The object's name under the prefix; `None` for an object deeper down.
    fn name_of<'a>(&self, location: &'a ObjectPath) -> Option<&'a str> {
        let key = location.as_ref();
        let name = if self.prefix.as_ref().is_empty() {
            key
        } else {
            key.strip_prefix(self.prefix.as_ref())?.strip_prefix('/')?
        };
        (!name.contains('/')).then_some(name)
    }

    fn failed(&self, error: object_store::Error) -> LoadError {
        storage_error(self.url.clone(), &error)
    }

    /// The objects of `date`. The listing starts at the day's first name and stops after its
    /// last: object stores list keys in order, so a day costs two requests, not a month.
    pub async fn list_day(&self, date: NaiveDate) -> Result<DayFiles, LoadError> {
        let day = date.format("%Y-%m-%d").to_string();
        let mut listed = DayFiles::in_bucket(date, PathBuf::from(&self.url));
        let mut objects = self
            .store
            .list_with_offset(Some(&self.prefix), &self.key(&day));
        while let Some(meta) = objects.try_next().await.map_err(|e| self.failed(e))? {
            let Some(name) = self.name_of(&meta.location) else {
                continue;
            };
            if !name.starts_with(&day) {
                break;
            }
            if !name.starts_with('.') {
                let name = name.to_owned();
                listed.add_object(&name, self.display(&name), meta);
            }
        }
        Ok(listed)
    }

    /// Every day with objects under the prefix, from one listing, page by page.
    pub async fn list_days(&self) -> Result<BTreeMap<NaiveDate, DayFiles>, LoadError> {
        let mut days: BTreeMap<NaiveDate, DayFiles> = BTreeMap::new();
        let mut objects = self.store.list(Some(&self.prefix));
        while let Some(meta) = objects.try_next().await.map_err(|e| self.failed(e))? {
            let Some(name) = self.name_of(&meta.location) else {
                continue;
            };
            let Some(date) = name.get(..10).and_then(day_of) else {
                continue;
            };
            if !name.starts_with('.') {
                let name = name.to_owned();
                let display = self.display(&name);
                days.entry(date)
                    .or_insert_with(|| DayFiles::in_bucket(date, PathBuf::from(&self.url)))
                    .add_object(&name, display, meta);
            }
        }
        Ok(days)
    }

    /// Checks the footer of each of the day's objects, in minute order, a few at a time.
    pub(crate) async fn inspect_day(
        &self,
        listed: &DayFiles,
        table: &Table,
        cancel: &CancellationToken,
    ) -> Result<Vec<SourceFile>, LoadError> {
        let inspections = futures::stream::iter(listed.objects())
            .map(|(_, display, meta)| self.inspect(display, meta, table))
            .buffered(FOOTER_READS_IN_FLIGHT)
            .try_collect::<Vec<_>>();
        tokio::select! {
            () = cancel.cancelled() => Err(LoadError::Cancelled { date: listed.date() }),
            files = inspections => files,
        }
    }

    /// Checks the footer of one object the listing found.
    pub(crate) async fn inspect(
        &self,
        display: PathBuf,
        meta: ObjectMeta,
        table: &Table,
    ) -> Result<SourceFile, LoadError> {
        let mut object = SourceObject {
            store: self.store.clone(),
            location: meta.location.clone(),
            etag: meta.e_tag.clone(),
            footer: None,
        };
        let (footer, etag) = read_footer(&object, &display, meta.size).await?;
        // Some stores list no ETags; the first read's answer then pins the version.
        if object.etag.is_none() {
            object.etag = etag;
        }
        let fingerprint = Fingerprint::of_object(meta.size, meta.last_modified.into(), &footer);
        Ok(check_footer(&display, &footer, fingerprint, object, table)?)
    }

    /// The Arrow schema of an object the listing found, from its footer.
    pub(crate) async fn schema_of(
        &self,
        display: &std::path::Path,
        meta: &ObjectMeta,
    ) -> Result<arrow_schema::SchemaRef, LoadError> {
        let object = SourceObject {
            store: self.store.clone(),
            location: meta.location.clone(),
            etag: meta.e_tag.clone(),
            footer: None,
        };
        let (footer, _) = read_footer(&object, display, meta.size).await?;
        Ok(schema_of_footer(display, &footer)?)
    }

    /// Every object right under the prefix, with its size and last modification, from one
    /// paged listing (names starting with a dot, writers' temporary objects, left out):
    /// what a watcher of the bucket compares with what it saw before.
    pub async fn list_objects(&self) -> Result<Vec<ListedObject>, LoadError> {
        let mut listed = Vec::new();
        let mut objects = self.store.list(Some(&self.prefix));
        while let Some(meta) = objects.try_next().await.map_err(|e| self.failed(e))? {
            if let Some(name) = self.name_of(&meta.location)
                && !name.starts_with('.')
            {
                listed.push(ListedObject {
                    name: name.to_owned(),
                    size: meta.size,
                    modified: meta.last_modified.into(),
                });
            }
        }
        Ok(listed)
    }

    /// Every object under the prefix, however deep, named by its path under the prefix
    /// (a declared dataset's folders), leaving out names starting with a dot.
    pub async fn list_objects_below(&self) -> Result<Vec<ListedObject>, LoadError> {
        let mut listed = Vec::new();
        let mut objects = self.store.list(Some(&self.prefix));
        while let Some(meta) = objects.try_next().await.map_err(|e| self.failed(e))? {
            if let Some(name) = self.relative_name(&meta.location)
                && !name.rsplit('/').next().is_some_and(|n| n.starts_with('.'))
            {
                listed.push(ListedObject {
                    name: name.to_owned(),
                    size: meta.size,
                    modified: meta.last_modified.into(),
                });
            }
        }
        Ok(listed)
    }

    /// The fingerprint of the object `name`, as [`crate::fingerprint_file`] gives a file's
    /// (size, last modification, the footer's SHA-256): one ranged read of its tail.
    pub async fn fingerprint(&self, object: &ListedObject) -> Result<Fingerprint, LoadError> {
        let (store, location) = self.location(&object.name);
        let source = SourceObject {
            store,
            location,
            etag: None,
            footer: None,
        };
        let (footer, _) = read_footer(&source, &self.display(&object.name), object.size).await?;
        Ok(Fingerprint::of_object(
            object.size,
            object.modified,
            &footer,
        ))
    }
}

/// An object as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// Its name under the prefix.
    pub name: String,
    pub size: u64,
    pub modified: SystemTime,
}

/// The footer's metadata bytes of an object of `size` bytes (empty when it holds no footer:
/// the footer check then says why), and the ETag the store answered with. One ranged read
/// of the tail; a second for a footer longer than [`FOOTER_GUESS`].
async fn read_footer(
    object: &SourceObject,
    display: &std::path::Path,
    size: u64,
) -> Result<(Vec<u8>, Option<String>), LoadError> {
    if size < 12 {
        // Too short for "PAR1", a footer and its length: nothing worth a request.
        return Ok((Vec::new(), None));
    }
    let (mut tail, read) = object
        .read(display, Some(size.saturating_sub(FOOTER_GUESS)..size))
        .await?;
    if parquet_support::has_encrypted_footer(&tail) {
        return Err(InputError::file(display, parquet_support::ENCRYPTED_FOOTER).into());
    }
    if let Some(length) = metadata_length(&tail)
        && length + 8 > tail.len() as u64
        && length + 8 <= size
    {
        tail = object.read(display, Some(size - length - 8..size)).await?.0;
    }
    let footer = metadata_length(&tail)
        .and_then(|length| footer_in(&tail, length))
        .unwrap_or_default();
    Ok((footer.to_vec(), read.e_tag))
}
