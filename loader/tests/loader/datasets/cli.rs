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

async fn url_of(pool: &PgPool) -> String {
    let name = testkit::roles::database_of(pool).await;
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let server = base.rsplit_once('/').map_or(base.as_str(), |(s, _)| s);
    format!("{server}/{name}")
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
    let url = url_of(&pool).await;

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
