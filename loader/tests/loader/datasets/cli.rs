//! `loader datasets`, `loader schema` and `loader load --dataset` as a user runs them: the
//! real binary, a datasets file, a fresh connection.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use arrow_array::{ArrayRef, Int32Array, StringArray, TimestampMicrosecondArray};
use sqlx::PgPool;

use super::{batch, write};

const TOML: &str = r#"
[[dataset]]
name = "meters"
table = "energy.readings"
source = "readings"
files = "dt=%Y-%m-%d/*.parquet"
complete = "_SUCCESS"
partition_column = "Read At"
"#;

/// 2024-03-09 00:00 in µs since 1970.
const DAY_US: i64 = 1_709_942_400_000_000;

fn loader(url: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loader"))
        .env("DATABASE_URL", url)
        .env_remove("DATASETS_FILE")
        .arg("--datasets")
        .arg(dir.join("datasets.toml"))
        .args(args)
        .output()
        .expect("the loader runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_dataset_of_the_users_own_is_listed_shown_and_loaded(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("datasets.toml"), TOML).expect("datasets file");
    let folder = dir.path().join("readings/dt=2024-03-09");
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "Read At",
            Arc::new(TimestampMicrosecondArray::from(vec![DAY_US, DAY_US + 1])),
        ),
        ("kwh", Arc::new(Int32Array::from(vec![5, 6]))),
        ("meter", Arc::new(StringArray::from(vec!["m-1", "m-2"]))),
    ];
    write(&folder.join("part-0.parquet"), &batch(columns));
    std::fs::write(folder.join("_SUCCESS"), b"").expect("marker");
    let url = testkit::roles::database_url(&pool).await;

    let listed = stdout(&loader(&url, dir.path(), &["datasets"]));
    let lines: Vec<&str> = listed.lines().collect();
    assert!(lines[1].starts_with("sample  "), "{listed}");
    assert!(
        lines[2].starts_with("meters        energy.readings"),
        "{listed}"
    );
    assert!(lines[2].contains("dt=%Y-%m-%d/*.parquet"), "{listed}");
    assert!(lines[2].contains("_SUCCESS"), "{listed}");

    let schema = stdout(&loader(
        &url,
        dir.path(),
        &["schema", "--dataset", "meters", "--date", "2024-03-09"],
    ));
    assert!(schema.contains("columns found in"), "{schema}");
    assert!(
        schema.contains("CREATE TABLE IF NOT EXISTS \"energy\".\"readings\" (\n    \"Read At\" timestamp without time zone NOT NULL,\n    \"kwh\" integer,\n    \"meter\" text\n) PARTITION BY RANGE (\"Read At\");"),
        "{schema}"
    );
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('energy.readings') IS NOT NULL")
        .fetch_one(&pool)
        .await
        .expect("catalog");
    assert!(!exists, "schema runs nothing");

    let loaded = stdout(&loader(
        &url,
        dir.path(),
        &["load", "--dataset", "meters", "--date", "2024-03-09"],
    ));
    assert!(loaded.contains("2024-03-09"), "{loaded}");
    let meters: Vec<String> = sqlx::query_scalar("SELECT meter FROM energy.readings ORDER BY 1")
        .fetch_all(&pool)
        .await
        .expect("rows");
    assert_eq!(meters, ["m-1", "m-2"]);
    let partitions = stdout(&loader(
        &url,
        dir.path(),
        &["partitions", "--dataset", "meters"],
    ));
    assert!(
        partitions.contains("2024-03-09           2"),
        "{partitions}"
    );

    let unknown = loader(
        &url,
        dir.path(),
        &["load", "--dataset", "orders", "--date", "2024-03-09"],
    );
    assert!(!unknown.status.success());
    assert_eq!(
        String::from_utf8_lossy(&unknown.stderr).trim(),
        "error: there is no dataset \"orders\"; the datasets are sample, meters"
    );
}

const DAILY: &str = r#"
[[dataset]]
name = "ticks"
table = "market.ticks"
source = "ticks"
files = "%Y-%m-%d.parquet"
partition_column = "at"
"#;

/// A day of `rows` ticks, each of price `price`.
fn ticks(rows: i64, price: i32) -> arrow_array::RecordBatch {
    let at = (0..rows).map(|i| DAY_US + i * 100_000);
    batch(vec![
        (
            "at",
            Arc::new(TimestampMicrosecondArray::from_iter_values(at)) as ArrayRef,
        ),
        (
            "price",
            Arc::new(Int32Array::from(vec![price; rows as usize])),
        ),
        (
            "symbol",
            Arc::new(StringArray::from(vec!["ACME"; rows as usize])),
        ),
    ])
}

async fn prices(pool: &PgPool) -> Vec<(i32, i64)> {
    sqlx::query_as("SELECT price, count(*) FROM market.ticks GROUP BY 1 ORDER BY 1")
        .fetch_all(pool)
        .await
        .expect("prices")
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn sigkill_mid_copy_leaves_a_datasets_old_day_and_the_next_load_replaces_it(pool: PgPool) {
    const ROWS: i64 = 800_000;
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("datasets.toml"), DAILY).expect("datasets file");
    let file = dir.path().join("ticks/2024-03-09.parquet");
    write(&file, &ticks(ROWS, 1));
    let url = testkit::roles::database_url(&pool).await;
    stdout(&loader(
        &url,
        dir.path(),
        &["load", "--dataset", "ticks", "--date", "2024-03-09"],
    ));
    write(&file, &ticks(ROWS, 2));

    let mut child = Command::new(env!("CARGO_BIN_EXE_loader"))
        .env("DATABASE_URL", &url)
        .arg("--datasets")
        .arg(dir.path().join("datasets.toml"))
        .args(["load", "--dataset", "ticks", "--date", "2024-03-09"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the loader starts");
    // Killed once its streams copy: a staging table of the day is being filled.
    let copying = "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                   WHERE query LIKE 'COPY dwh_staging.\"ticks_stage_%' AND state = 'active')";
    let started = std::time::Instant::now();
    while !sqlx::query_scalar::<_, bool>(copying)
        .fetch_one(&pool)
        .await
        .expect("activity")
    {
        assert!(started.elapsed().as_secs() < 60, "the COPY never started");
        assert!(
            child.try_wait().expect("status").is_none(),
            "the load ended before its kill"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    assert_eq!(prices(&pool).await, [(1, ROWS)], "the old day, whole");

    let loaded = stdout(&loader(
        &url,
        dir.path(),
        &["load", "--dataset", "ticks", "--date", "2024-03-09"],
    ));
    assert!(loaded.contains("(version 2)"), "{loaded}");
    assert_eq!(prices(&pool).await, [(2, ROWS)], "the new day, whole");
    let leftovers: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'dwh_staging' AND c.relname LIKE 'ticks_stage_%'",
    )
    .fetch_one(&pool)
    .await
    .expect("leftovers");
    assert_eq!(
        leftovers, 0,
        "the killed load's staging tables were dropped"
    );
}
