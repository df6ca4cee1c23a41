//! A day from a bucket of a real S3-compatible server (`s3s-fs`, see `testkit::s3`): the
//! same rows as from a directory, and each way a bucket can fail (an object that changes
//! or goes between its check and its COPY, a bad object, wrong credentials, the server
//! gone mid-load) ends with a clear error naming the object and the old day untouched.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use loader::{Bucket, DataSource, LoadError, LoadOptions, LoadProgress, Streams, load_day_from};
use object_store::ObjectStore;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use sqlx::PgPool;
use testkit::s3::{S3Server, SECRET_KEY, put_bytes, put_file, upload_dir};
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

mod changing;
mod datasets;

const DAY: &str = "2023-01-01";
const BUCKET: &str = "minutes";
const PREFIX: &str = "january";

/// A client of the test's bucket.
fn client(server: &S3Server) -> Arc<dyn ObjectStore> {
    server.client(BUCKET, SECRET_KEY, Duration::from_secs(5))
}

/// A server whose bucket holds the day's first minutes (00:00–`last`) under the prefix.
async fn bucket_with_minutes(last: &str) -> (S3Server, Arc<dyn ObjectStore>) {
    let server = S3Server::start(&[BUCKET]);
    let store = client(&server);
    let dir = minutes_dir("2023-01-01 00:00", last);
    upload_dir(store.as_ref(), dir.path(), PREFIX).await;
    (server, store)
}

fn source(store: &Arc<dyn ObjectStore>) -> DataSource {
    DataSource::Bucket(Bucket::with_store(
        store.clone(),
        PREFIX,
        &format!("s3://{BUCKET}/{PREFIX}"),
    ))
}

async fn load_from(
    pool: &PgPool,
    source: &DataSource,
    progress: &(dyn Fn(LoadProgress) + Send + Sync),
) -> Result<loader::LoadReport, LoadError> {
    load_with(pool, source, &options(), progress).await
}

/// [`load_from`] with one stream: every footer is read before the COPY starts (with more,
/// a bucket's footers are read while it runs), so the first progress report comes after
/// every check and before any object is fetched.
async fn load_checked_first(
    pool: &PgPool,
    source: &DataSource,
    progress: &(dyn Fn(LoadProgress) + Send + Sync),
) -> Result<loader::LoadReport, LoadError> {
    let options = LoadOptions {
        streams: Streams::new(1).expect("one stream"),
        ..options()
    };
    load_with(pool, source, &options, progress).await
}

async fn load_with(
    pool: &PgPool,
    source: &DataSource,
    options: &LoadOptions,
    progress: &(dyn Fn(LoadProgress) + Send + Sync),
) -> Result<loader::LoadReport, LoadError> {
    let cancel = CancellationToken::new();
    load_day_from(pool, source, day(DAY), options, progress, &cancel).await
}

/// Runs `change` once, on the first progress report: it comes after every footer was
/// checked and before any row is copied. On a thread and a runtime of its own, because the
/// report is made on the test's runtime (blocked meanwhile) and the change is a request:
/// it must use a client made on its own runtime too.
fn once_checked(change: impl Fn() + Send + Sync) -> impl Fn(LoadProgress) + Send + Sync {
    let done = AtomicBool::new(false);
    move |_| {
        if !done.swap(true, Ordering::SeqCst) {
            std::thread::scope(|s| s.spawn(&change).join().expect("change"));
        }
    }
}

/// Runs a future to completion on a runtime of its own (from a plain thread).
fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

async fn old_day(pool: &PgPool) -> String {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:01");
    load(pool, dir.path(), DAY).await.expect("old day");
    checksum_of_day(pool, DAY).await
}

async fn assert_untouched(pool: &PgPool, before: &str) {
    assert_eq!(checksum_of_day(pool, DAY).await, before, "old day intact");
    assert_eq!(leftover_tables(pool).await, Vec::<String>::new());
}

fn key(minute: &str) -> String {
    format!("{PREFIX}/{DAY} {minute}:00.parquet")
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_day_from_a_bucket_holds_the_same_rows_as_from_a_directory(pool: PgPool) {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:09");
    load(&pool, dir.path(), DAY)
        .await
        .expect("from the directory");
    let from_dir = checksum_of_day(&pool, DAY).await;
    sqlx::query("TRUNCATE dwh.data_sample")
        .execute(&pool)
        .await
        .expect("empty the table");

    let (_server, store) = bucket_with_minutes("2023-01-01 00:09").await;
    // Objects outside the prefix, of another day, and deeper down are not the day's.
    put_bytes(
        store.as_ref(),
        &format!("{DAY} 00:00:00.parquet"),
        b"x".to_vec(),
    )
    .await;
    put_bytes(
        store.as_ref(),
        &format!("{PREFIX}/2023-01-02 00:00:00.parquet"),
        b"x".to_vec(),
    )
    .await;
    put_bytes(
        store.as_ref(),
        &format!("{PREFIX}/old/{DAY} 00:00:00.parquet"),
        b"x".to_vec(),
    )
    .await;
    let report = load_from(&pool, &source(&store), &|_| {})
        .await
        .expect("from the bucket");

    assert_eq!(report.files, 10);
    assert_eq!(report.rows as i64, 10 * rows_per_file());
    assert_eq!(checksum_of_day(&pool, DAY).await, from_dir);
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
}

/// Loads the day from `dir` and keeps its checksum (what the day must hold when loaded from
/// the bucket), empties the table, and uploads `dir` to a new server's bucket.
async fn loaded_then_uploaded(
    pool: &PgPool,
    dir: &std::path::Path,
) -> (String, S3Server, Arc<dyn ObjectStore>) {
    load(pool, dir, DAY).await.expect("from the directory");
    let from_dir = checksum_of_day(pool, DAY).await;
    sqlx::query("TRUNCATE dwh.data_sample, dwh.day_loads")
        .execute(pool)
        .await
        .expect("empty the table");
    let server = S3Server::start(&[BUCKET]);
    let store = client(&server);
    upload_dir(store.as_ref(), dir, PREFIX).await;
    (from_dir, server, store)
}

/// Rewrites the Parquet file `path` with row groups of at most `rows` rows.
fn in_row_groups(path: &std::path::Path, rows: usize) -> usize {
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::properties::WriterProperties;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).expect("open"))
            .expect("a Parquet file");
    let schema = builder.schema().clone();
    let batches: Vec<_> = builder
        .build()
        .expect("reader")
        .map(|b| b.expect("batch"))
        .collect();
    let properties = WriterProperties::builder()
        .set_max_row_group_row_count(Some(rows))
        .build();
    let out = std::fs::File::create(path).expect("rewrite");
    let mut writer = ArrowWriter::try_new(out, schema, Some(properties)).expect("writer");
    for batch in &batches {
        writer.write(batch).expect("write");
    }
    writer.close().expect("close").num_row_groups()
}

/// An object's row groups are read one at a time through Parquet's async reader (each a
/// ranged read, after the footer's), and give the rows a directory gives.
#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn an_object_of_many_row_groups_loads_exactly(pool: PgPool) {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:03");
    let groups = in_row_groups(&dir.path().join(format!("{DAY} 00:02:00.parquet")), 500);
    assert_eq!(groups, 4, "1,914 rows in groups of 500");
    let (from_dir, _server, store) = loaded_then_uploaded(&pool, dir.path()).await;
    for streams in [1, 2] {
        let options = LoadOptions {
            streams: Streams::new(streams).expect("streams"),
            ..options()
        };
        let report = load_with(&pool, &source(&store), &options, &|_| {})
            .await
            .expect("from the bucket");
        assert_eq!(report.rows as i64, 4 * rows_per_file());
        assert_eq!(
            checksum_of_day(&pool, DAY).await,
            from_dir,
            "{streams} streams"
        );
    }
}

/// A day from a bucket is planned by its objects' names, its footers read while the COPY
/// runs; an object whose rows are not of the minute its name says refutes that plan, and
/// the day is loaded again, planned by every footer, as from a directory.
#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn an_object_of_another_minute_than_its_name_still_loads_exactly(pool: PgPool) {
    let dir = minutes_dir("2023-01-01 00:00", "2023-01-01 00:03");
    let later = minutes_dir("2023-01-01 00:07", "2023-01-01 00:07");
    std::fs::copy(
        later.path().join(format!("{DAY} 00:07:00.parquet")),
        dir.path().join(format!("{DAY} 00:01:00.parquet")),
    )
    .expect("00:07's rows under 00:01's name");
    let (from_dir, _server, store) = loaded_then_uploaded(&pool, dir.path()).await;
    // Two streams: the names put 00:00 and 00:01 in the first part, [00:00, 00:02).
    let report = load_from(&pool, &source(&store), &|_| {})
        .await
        .expect("planned again by the footers");

    assert_eq!(report.rows as i64, 4 * rows_per_file());
    assert_eq!(checksum_of_day(&pool, DAY).await, from_dir);
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
}

/// With the footers read during the COPY, the shrink guard judges the day's rows once the
/// last footer has passed.
#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_bucket_day_that_would_shrink_the_day_is_refused(pool: PgPool) {
    let before = old_day(&pool).await;
    let (_server, store) = bucket_with_minutes("2023-01-01 00:00").await;

    let error = load_from(&pool, &source(&store), &|_| {})
        .await
        .expect_err("shrinks");

    assert_eq!(
        error.to_string(),
        "the load would shrink 2023-01-01 from 3,828 to 1,914 rows (below 90 % of what it \
         holds); the day is unchanged. Replace it anyway with force=true (--force)"
    );
    assert_untouched(&pool, &before).await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn an_object_replaced_after_its_check_fails_the_load_naming_it(pool: PgPool) {
    let before = old_day(&pool).await;
    let (server, store) = bucket_with_minutes("2023-01-01 00:03").await;
    let other = minutes_dir("2023-01-01 00:07", "2023-01-01 00:07");
    let replacement = other.path().join(format!("{DAY} 00:07:00.parquet"));
    let progress = once_checked(|| {
        block_on(async { put_file(client(&server).as_ref(), &replacement, &key("00:01")).await });
    });

    let error = load_checked_first(&pool, &source(&store), &progress)
        .await
        .expect_err("changed");

    assert!(
        error.to_string().ends_with(&format!(
            "s3://{BUCKET}/{PREFIX}/{DAY} 00:01:00.parquet: changed during the load: its ETag \
             differs from when it was checked; nothing of it was copied"
        )),
        "{error}"
    );
    assert_untouched(&pool, &before).await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn an_object_deleted_after_its_check_fails_the_load_naming_it(pool: PgPool) {
    let before = old_day(&pool).await;
    let (server, store) = bucket_with_minutes("2023-01-01 00:03").await;
    let progress = once_checked(|| {
        block_on(async {
            client(&server)
                .delete(&ObjectPath::from(key("00:02")))
                .await
        })
        .expect("delete");
    });

    let error = load_checked_first(&pool, &source(&store), &progress)
        .await
        .expect_err("gone");

    assert!(
        error.to_string().ends_with(&format!(
            "{DAY} 00:02:00.parquet: is gone: it was listed, but the store no longer has it"
        )),
        "{error}"
    );
    assert_untouched(&pool, &before).await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn an_object_that_is_not_parquet_is_refused_by_name_before_any_row_is_copied(pool: PgPool) {
    let before = old_day(&pool).await;
    let (_server, store) = bucket_with_minutes("2023-01-01 00:03").await;
    put_bytes(
        store.as_ref(),
        &key("00:02"),
        b"not parquet at all".to_vec(),
    )
    .await;
    put_bytes(store.as_ref(), &key("00:03"), b"PAR1".to_vec()).await;

    let error = load_from(&pool, &source(&store), &|_| {})
        .await
        .expect_err("bad object");

    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "s3://{BUCKET}/{PREFIX}/{DAY} 00:02:00.parquet: not a readable Parquet file"
        )),
        "{message}"
    );
    // Nor is an object too short to hold a footer (no request asks for its tail).
    let good = minutes_dir("2023-01-01 00:02", "2023-01-01 00:02");
    put_file(
        store.as_ref(),
        &good.path().join(format!("{DAY} 00:02:00.parquet")),
        &key("00:02"),
    )
    .await;
    let error = load_from(&pool, &source(&store), &|_| {})
        .await
        .expect_err("too short");
    assert!(
        error.to_string().contains(&format!(
            "{DAY} 00:03:00.parquet: not a readable Parquet file"
        )),
        "{error}"
    );
    assert_untouched(&pool, &before).await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn wrong_credentials_fail_at_once_with_a_clear_message_and_no_secret(pool: PgPool) {
    let before = old_day(&pool).await;
    let (server, _store) = bucket_with_minutes("2023-01-01 00:03").await;
    let wrong = server.client(BUCKET, "not-the-secret", Duration::from_secs(30));

    let started = std::time::Instant::now();
    let error = load_from(&pool, &source(&wrong), &|_| {})
        .await
        .expect_err("denied");

    let message = error.to_string();
    assert!(!error.is_transient(), "{error:?}");
    assert!(
        message.starts_with(&format!(
            "cannot read s3://{BUCKET}/{PREFIX}: access denied"
        )),
        "{message}"
    );
    assert!(message.contains("check the credentials"), "{message}");
    assert!(
        !message.contains("not-the-secret") && !message.contains(SECRET_KEY),
        "{message}"
    );
    // Not retried for the 30 s a transient error would be.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_untouched(&pool, &before).await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn the_server_gone_mid_load_fails_it_after_retries_and_keeps_the_old_day(pool: PgPool) {
    let before = old_day(&pool).await;
    let (server, store) = bucket_with_minutes("2023-01-01 00:03").await;
    let server = std::sync::Mutex::new(server);
    let progress = once_checked(|| server.lock().expect("server").stop());

    let error = load_checked_first(&pool, &source(&store), &progress)
        .await
        .expect_err("unreachable");

    let message = error.to_string();
    assert!(
        message.starts_with(&format!("cannot read s3://{BUCKET}/{PREFIX}/{DAY} 00:0")),
        "{message}"
    );
    // A job would be retried later: the store may be back by then.
    assert!(error.is_transient(), "{error:?}");
    assert_untouched(&pool, &before).await;
}
