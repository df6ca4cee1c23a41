//! The layouts: one file a day partitioned by a `date` column, Hive directories of parts
//! with a `_SUCCESS` marker, an incomplete hourly day; and two datasets' same day loading
//! side by side.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use loader::LoadError;
use sqlx::PgPool;

use super::{batch, datasets, load, texts, write};

const TOML: &str = r#"
[[dataset]]
name = "orders"
table = "shop.orders"
source = "orders"
files = "%Y-%m-%d.parquet"
partition_column = "order_day"
columns = [
    { name = "id", type = "bigint", not_null = true },
    { name = "order_day", type = "date" },
    { name = "customer", type = "varchar(8)" },
]

[[dataset]]
name = "events"
table = "web.events"
source = "events"
files = "dt=%Y-%m-%d/*.parquet"
complete = "_SUCCESS"
partition_column = "at"
columns = [
    { name = "id", type = "bigint", not_null = true },
    { name = "at", type = "timestamptz" },
    { name = "kind", type = "text" },
]

[[dataset]]
name = "meters"
table = "energy.meters"
source = "meters"
files = "%Y/%m/%d/%H.parquet"
partition_column = "at"
"#;

/// 2024-03-09 in days since 1970.
const DAY: i32 = 19_791;
const DAY_US: i64 = DAY as i64 * 86_400_000_000;

fn orders(ids: std::ops::Range<i64>, customer: &str) -> RecordBatch {
    let n = ids.clone().count();
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from_iter_values(ids))),
        ("order_day", Arc::new(Date32Array::from(vec![DAY; n]))),
        ("customer", Arc::new(StringArray::from(vec![customer; n]))),
    ];
    batch(columns)
}

fn events(ids: std::ops::Range<i64>) -> RecordBatch {
    let at: Vec<i64> = ids.clone().map(|i| DAY_US + i * 60_000_000).collect();
    let n = at.len();
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from_iter_values(ids))),
        (
            "at",
            Arc::new(TimestampMicrosecondArray::from(at).with_timezone("UTC")),
        ),
        ("kind", Arc::new(StringArray::from(vec!["click"; n]))),
    ];
    batch(columns)
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn one_file_a_day_by_a_date_column_replaces_the_day(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("orders/2024-03-09.parquet");
    write(&file, &orders(0..10, "ann"));
    let datasets = datasets(TOML, dir.path());
    let orders_set = datasets.get("orders").expect("orders");
    load(&pool, orders_set, "2024-03-09")
        .await
        .expect("first load");
    write(&file, &orders(0..12, "bob"));
    let report = load(&pool, orders_set, "2024-03-09")
        .await
        .expect("replace");
    assert_eq!((report.rows, report.replaced_rows), (12, Some(10)));
    assert_eq!(
        texts(&pool, "shop.orders", "customer").await,
        vec!["bob"; 12]
    );

    write(&file, &orders(0..12, "too-long-name"));
    let error = load(&pool, orders_set, "2024-03-09")
        .await
        .expect_err("varchar(8)");
    assert!(
        error.to_string().ends_with(
            "orders/2024-03-09.parquet, row 0, column customer: value of 13 characters is \
             longer than VARCHAR(8)"
        ),
        "{error}"
    );
    assert_eq!(
        texts(&pool, "shop.orders", "customer").await,
        vec!["bob"; 12],
        "unchanged"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_hive_day_loads_its_parts_once_its_marker_is_there(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let folder = dir.path().join("events/dt=2024-03-09");
    write(&folder.join("part-00000.parquet"), &events(0..30));
    write(&folder.join("part-00001.parquet"), &events(30..75));
    write(&folder.join("part-00002.parquet"), &events(75..100));
    let datasets = datasets(TOML, dir.path());
    let events_set = datasets.get("events").expect("events");
    let error = load(&pool, events_set, "2024-03-09")
        .await
        .expect_err("no marker");
    assert!(matches!(error, LoadError::DayUnfinished { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("dt=2024-03-09 has no _SUCCESS yet"),
        "{error}"
    );

    std::fs::write(folder.join("_SUCCESS"), b"").expect("marker");
    let report = load(&pool, events_set, "2024-03-09").await.expect("loads");
    assert_eq!((report.rows, report.files), (100, 3));
    sqlx::query("SET TIME ZONE 'UTC'")
        .execute(&pool)
        .await
        .expect("utc");
    let at = texts(&pool, "web.events", "at").await;
    assert_eq!(at[0], "2024-03-09 00:00:00+00");
    assert_eq!(at[99], "2024-03-09 01:39:00+00");
    let leaves: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_partition_tree('web.events_p20240309') WHERE isleaf",
    )
    .fetch_one(&pool)
    .await
    .expect("leaves");
    assert!(leaves >= 1);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn an_hourly_day_without_all_its_hours_is_refused_in_hours(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    for hour in [0, 1, 2, 5] {
        let at: Vec<i64> = (0..3).map(|i| DAY_US + hour * 3_600_000_000 + i).collect();
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("at", Arc::new(TimestampMicrosecondArray::from(at))),
            ("kwh", Arc::new(Int64Array::from(vec![1, 2, 3]))),
        ];
        write(
            &dir.path()
                .join(format!("meters/2024/03/09/{hour:02}.parquet")),
            &batch(columns),
        );
    }
    let datasets = datasets(TOML, dir.path());
    let meters = datasets.get("meters").expect("meters");
    let error = load(&pool, meters, "2024-03-09")
        .await
        .expect_err("incomplete");
    assert!(
        error.to_string().starts_with(
            "2024-03-09 is incomplete: 20 of its 24 hours have no file (03:00, 04:00, 06:00"
        ),
        "{error}"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn two_datasets_load_the_same_day_side_by_side(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    write(
        &dir.path().join("orders/2024-03-09.parquet"),
        &orders(0..500, "cy"),
    );
    let folder = dir.path().join("events/dt=2024-03-09");
    write(&folder.join("part-0.parquet"), &events(0..700));
    std::fs::write(folder.join("_SUCCESS"), b"").expect("marker");
    let datasets = datasets(TOML, dir.path());
    let (a, b) = tokio::join!(
        load(&pool, datasets.get("orders").expect("orders"), "2024-03-09"),
        load(&pool, datasets.get("events").expect("events"), "2024-03-09"),
    );
    assert_eq!(a.expect("orders load").rows, 500);
    assert_eq!(b.expect("events load").rows, 700);
    let days: Vec<(String, i64)> = sqlx::query_as(
        "SELECT dataset, rows FROM dwh.day_loads WHERE day = '2024-03-09' ORDER BY dataset",
    )
    .fetch_all(&pool)
    .await
    .expect("records");
    assert_eq!(
        days,
        [("events".to_owned(), 700), ("orders".to_owned(), 500)]
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_timestamptz_day_is_cut_at_midnight_of_its_time_zone(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let paris = TOML.replace(
        "complete = \"_SUCCESS\"",
        "complete = \"_SUCCESS\"\ntimezone = \"Europe/Paris\"",
    );
    let datasets = datasets(&paris, dir.path());
    let events_set = datasets.get("events").expect("events");
    let folder = dir.path().join("events/dt=2024-03-09");
    std::fs::write(folder.join("_SUCCESS"), b"").ok();
    // 2024-03-09 in Paris is [2024-03-08 23:00, 2024-03-09 23:00) UTC.
    let at = |minutes: &[i64]| -> ArrayRef {
        let us = minutes.iter().map(|m| DAY_US + m * 60_000_000);
        Arc::new(TimestampMicrosecondArray::from_iter_values(us).with_timezone("UTC"))
    };
    let file = |minutes: &[i64]| {
        let n = minutes.len() as i64;
        batch(vec![
            (
                "id",
                Arc::new(Int64Array::from_iter_values(0..n)) as ArrayRef,
            ),
            ("at", at(minutes)),
        ])
    };
    write(
        &folder.join("part-0.parquet"),
        &file(&[-60, 0, 22 * 60 + 59]),
    );
    std::fs::write(folder.join("_SUCCESS"), b"").expect("marker");
    let report = load(&pool, events_set, "2024-03-09").await.expect("loads");
    assert_eq!(report.rows, 3);

    write(&folder.join("part-0.parquet"), &file(&[-61, 0, 1]));
    let error = load(&pool, events_set, "2024-03-09")
        .await
        .expect_err("outside");
    assert!(
        error.to_string().ends_with(
            "column at: 2024-03-08 22:59:00 is outside the day being loaded (2024-03-08 \
             23:00:00 to 2024-03-09 23:00:00 UTC)"
        ),
        "{error}"
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_datasets_files_append_live_until_its_day_is_loaded_whole(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let datasets = datasets(TOML, dir.path());
    let meters = datasets.get("meters").expect("meters");
    let hour_file = |hour: i64| {
        let at: Vec<i64> = (0..3).map(|i| DAY_US + hour * 3_600_000_000 + i).collect();
        let path = dir
            .path()
            .join(format!("meters/2024/03/09/{hour:02}.parquet"));
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("at", Arc::new(TimestampMicrosecondArray::from(at))),
            ("kwh", Arc::new(Int64Array::from(vec![hour, hour, hour]))),
        ];
        write(&path, &batch(columns));
        path
    };
    // The table exists once a load (here, of another day) or `loader schema`'s DDL made it.
    let first = hour_file(0);
    let mut conn = pool.acquire().await.expect("connection");
    let found = loader::find_columns(&first).expect("columns");
    let table = loader::ensure_table(&mut conn, meters, Some(found))
        .await
        .expect("table");
    let date = "2024-03-09".parse().expect("date");
    for hour in [0, 1] {
        let path = hour_file(hour);
        let mut tx = sqlx::Connection::begin(&mut *conn).await.expect("tx");
        let appended = loader::append_file(&mut tx, &table, &path, date)
            .await
            .expect("appended");
        assert_eq!(appended.rows, 3);
        tx.commit().await.expect("commit");
    }
    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM energy.meters_p20240309_live")
        .fetch_one(&pool)
        .await
        .expect("live rows");
    assert_eq!(live, 6);

    for hour in 2..24 {
        hour_file(hour);
    }
    let report = load(&pool, meters, "2024-03-09")
        .await
        .expect("the whole day");
    assert_eq!(report.rows, 72);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM energy.meters")
        .fetch_one(&pool)
        .await
        .expect("rows");
    assert_eq!(
        rows, 72,
        "the whole day replaced the live rows, not added to them"
    );
    let mut tx = sqlx::Connection::begin(&mut *conn).await.expect("tx");
    let late = loader::append_file(&mut tx, &table, &hour_file(5), date).await;
    assert!(matches!(late, Err(LoadError::DayLoaded { .. })), "{late:?}");
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn two_first_loads_of_a_new_dataset_at_once_both_make_its_table(pool: PgPool) {
    // Two days of a dataset whose schema and table do not exist yet, loaded side by side:
    // each load makes the table, and neither fails on the other's creation.
    let dir = tempfile::tempdir().expect("dir");
    for (day, ids) in [("2024-03-09", 0..10), ("2024-03-10", 10..22)] {
        let mut batch = orders(ids, "ann");
        let days = vec![DAY + i32::from(day.ends_with("10")); batch.num_rows()];
        batch = batch
            .project(&[0, 2])
            .and_then(|b| {
                let mut columns = b.columns().to_vec();
                columns.insert(1, Arc::new(Date32Array::from(days)));
                RecordBatch::try_new(batch.schema(), columns)
            })
            .expect("batch");
        write(&dir.path().join(format!("orders/{day}.parquet")), &batch);
    }
    let datasets = datasets(TOML, dir.path());
    let orders_set = datasets.get("orders").expect("orders");
    for _ in 0..5 {
        sqlx::query("DROP SCHEMA IF EXISTS shop CASCADE")
            .execute(&pool)
            .await
            .expect("drop");
        sqlx::query("DELETE FROM dwh.day_loads WHERE dataset = 'orders'")
            .execute(&pool)
            .await
            .expect("records");
        let (first, second) = tokio::join!(
            load(&pool, orders_set, "2024-03-09"),
            load(&pool, orders_set, "2024-03-10")
        );
        first.expect("the first day");
        second.expect("the second day");
        assert_eq!(texts(&pool, "shop.orders", "id").await.len(), 22);
    }
}
