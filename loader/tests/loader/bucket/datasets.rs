//! A declared dataset from a bucket: Hive directories of parts and a `_SUCCESS` marker,
//! new columns found in the objects' footers.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, StringArray, TimestampMicrosecondArray};
use loader::{Bucket, DataSource, Datasets, LoadError, LoadOptions, load_dataset_day};
use sqlx::PgPool;
use testkit::s3::{S3Server, put_bytes};
use tokio_util::sync::CancellationToken;

use super::{BUCKET, client};

const TOML: &str = r#"
[[dataset]]
name = "trips"
table = "taxi.trips"
source = "s3://minutes/trips"
files = "year=%Y/month=%m/day=%d/*.parquet"
complete = "_SUCCESS"
partition_column = "pickup_at"
schema_drift = "add_columns"
columns = [
    { name = "pickup_at", type = "timestamptz" },
    { name = "fare", type = "bigint" },
]
"#;

/// 2024-03-09 00:00 in µs since 1970.
const DAY_US: i64 = 1_709_942_400_000_000;

fn part(first: i64, rows: i64, zone: bool) -> Vec<u8> {
    let at = (first..first + rows).map(|i| DAY_US + i * 1_000_000);
    let mut columns: Vec<(&str, ArrayRef)> = vec![
        (
            "pickup_at",
            Arc::new(TimestampMicrosecondArray::from_iter_values(at).with_timezone("UTC")),
        ),
        (
            "fare",
            Arc::new(Int64Array::from_iter_values(first..first + rows)),
        ),
    ];
    if zone {
        columns.push((
            "zone",
            Arc::new(StringArray::from(vec!["east"; rows as usize])),
        ));
    }
    let batch = crate::datasets::batch(columns);
    testkit::parquet_bytes(&batch)
}

async fn load(
    pool: &PgPool,
    server_store: &Arc<dyn object_store::ObjectStore>,
) -> Result<loader::LoadReport, LoadError> {
    let datasets = Datasets::parse(TOML, std::path::Path::new("."), "unused").expect("valid");
    let trips = datasets.get("trips").expect("trips");
    let source = DataSource::Bucket(Bucket::with_store(
        server_store.clone(),
        "trips",
        &trips.source,
    ));
    let date = "2024-03-09".parse().expect("date");
    let options = LoadOptions::default();
    load_dataset_day(
        pool,
        trips,
        &source,
        date,
        &options,
        &|_| {},
        &CancellationToken::new(),
    )
    .await
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_hive_day_in_a_bucket_loads_once_its_marker_is_there(pool: PgPool) {
    let server = S3Server::start(&[BUCKET]);
    let store = client(&server);
    let folder = "trips/year=2024/month=03/day=09";
    // The days before and after are listed past, not into.
    let before = "trips/year=2024/month=03/day=08/part-0.parquet";
    put_bytes(store.as_ref(), before, part(0, 5, false)).await;
    put_bytes(
        store.as_ref(),
        &format!("{folder}/part-0.parquet"),
        part(0, 100, false),
    )
    .await;
    put_bytes(
        store.as_ref(),
        &format!("{folder}/part-1.parquet"),
        part(100, 50, true),
    )
    .await;
    put_bytes(
        store.as_ref(),
        "trips/year=2024/month=03/day=10/part-0.parquet",
        part(0, 7, false),
    )
    .await;

    let error = load(&pool, &store).await.expect_err("no marker yet");
    assert!(
        error
            .to_string()
            .contains("s3://minutes/trips/year=2024/month=03/day=09 has no _SUCCESS yet"),
        "{error}"
    );
    put_bytes(store.as_ref(), &format!("{folder}/_SUCCESS"), Vec::new()).await;
    let report = load(&pool, &store).await.expect("loads");
    assert_eq!((report.rows, report.files), (150, 2));
    let zones: Vec<(i64, Option<String>)> =
        sqlx::query_as("SELECT fare, zone FROM taxi.trips WHERE fare IN (0, 149) ORDER BY fare")
            .fetch_all(&pool)
            .await
            .expect("rows");
    assert_eq!(zones, [(0, None), (149, Some("east".to_owned()))]);
}
