//! The example datasets file the README and docker compose point at
//! (`deploy/datasets/example.toml`) loads its committed day as it is, with the values
//! `deploy/datasets/write-meters.py` says it holds.

use std::path::Path;

use loader::Datasets;
use sqlx::PgPool;

use super::load;

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn the_example_dataset_loads_its_day(pool: PgPool) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/datasets/example.toml");
    let datasets = Datasets::from_file(&file, "unused").expect("the example file");
    let meters = datasets.get("meters").expect("meters");
    let report = load(&pool, meters, "2024-03-09")
        .await
        .expect("the example day");
    assert_eq!(report.rows, 240);
    let rows: Vec<(i64, String, f64)> =
        sqlx::query_as("SELECT meter, read_at::text, kwh FROM energy.meters ORDER BY meter")
            .fetch_all(&pool)
            .await
            .expect("rows");
    let expected: Vec<(i64, String, f64)> = (0..24)
        .flat_map(|hour| {
            (0..10).map(move |i| {
                let at = format!("2024-03-09 {hour:02}:{i:02}:00");
                (hour * 100 + i, at, i as f64 / 4.0)
            })
        })
        .collect();
    assert_eq!(rows, expected);
}
