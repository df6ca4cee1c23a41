//! With more than one stream, a bucket's footers are read while the COPY runs, so no
//! progress report falls between the checks and the reads of the rows. A store that
//! changes an object just before its rows are first read stands in for the writer that
//! would: the load still fails naming the object, and the old day stays.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::path::Path as ObjectPath;
use object_store::{
    CopyOptions, GetOptions, GetRange, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use sqlx::PgPool;

use super::*;

/// What happens to the watched object just before its rows are first read.
#[derive(Debug)]
enum Change {
    Replace(Vec<u8>),
    Delete,
}

/// A store that passes everything on to `inner`, except that the first read of `key`'s
/// row groups (a ranged read from byte 4, just after `PAR1`: its footer was read and
/// checked before) is preceded by `change`.
#[derive(Debug)]
struct ChangingStore {
    inner: Arc<dyn ObjectStore>,
    key: ObjectPath,
    change: Change,
    done: AtomicBool,
}

impl fmt::Display for ChangingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChangingStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for ChangingStore {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &ObjectPath,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let rows = matches!(&options.range, Some(GetRange::Bounded(r)) if r.start == 4);
        if rows && *location == self.key && !self.done.swap(true, Ordering::SeqCst) {
            match &self.change {
                Change::Replace(bytes) => {
                    self.inner.put(location, bytes.clone().into()).await?;
                }
                Change::Delete => self.inner.delete(location).await?,
            }
        }
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<ObjectPath>>,
    ) -> BoxStream<'static, object_store::Result<ObjectPath>> {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&ObjectPath>,
        offset: &ObjectPath,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &ObjectPath,
        to: &ObjectPath,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// Loads the day from `store` through a [`ChangingStore`] that applies `change` to the
/// object of minute 00:01 just before its rows are read, with two streams.
async fn load_changing(
    pool: &PgPool,
    store: &Arc<dyn ObjectStore>,
    change: Change,
) -> Result<loader::LoadReport, LoadError> {
    let changing: Arc<dyn ObjectStore> = Arc::new(ChangingStore {
        inner: store.clone(),
        key: ObjectPath::from(key("00:01")),
        change,
        done: AtomicBool::new(false),
    });
    let options = LoadOptions {
        streams: Streams::new(2).expect("two streams"),
        ..options()
    };
    load_with(pool, &source(&changing), &options, &|_| {}).await
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn an_object_replaced_after_its_footer_was_read_ahead_fails_the_load(pool: PgPool) {
    let before = old_day(&pool).await;
    let (_server, store) = bucket_with_minutes("2023-01-01 00:03").await;
    let other = minutes_dir("2023-01-01 00:07", "2023-01-01 00:07");
    let replacement =
        std::fs::read(other.path().join(format!("{DAY} 00:07:00.parquet"))).expect("read");

    let error = load_changing(&pool, &store, Change::Replace(replacement))
        .await
        .expect_err("changed");

    assert_eq!(
        error.to_string(),
        format!(
            "invalid input: s3://{BUCKET}/{PREFIX}/{DAY} 00:01:00.parquet: changed during the \
             load: its ETag differs from when it was checked; nothing of it was copied"
        )
    );
    assert_untouched(&pool, &before).await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn an_object_deleted_after_its_footer_was_read_ahead_fails_the_load(pool: PgPool) {
    let before = old_day(&pool).await;
    let (_server, store) = bucket_with_minutes("2023-01-01 00:03").await;

    let error = load_changing(&pool, &store, Change::Delete)
        .await
        .expect_err("gone");

    assert_eq!(
        error.to_string(),
        format!(
            "invalid input: s3://{BUCKET}/{PREFIX}/{DAY} 00:01:00.parquet: is gone: it was \
             listed, but the store no longer has it"
        )
    );
    assert_untouched(&pool, &before).await;
}
