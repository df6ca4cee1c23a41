//! Lineage: with `OPENLINEAGE_URL`, every load and rollback emits OpenLineage run events
//! to a real HTTP receiver — START before COMPLETE, FAIL or ABORT of the same run, with
//! the real numbers — each valid in OpenLineage's own object model
//! (`scripts/validate-openlineage.py`, with `openlineage-python`); and a backend that is
//! down fails no load.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use api::domain::{Job, JobStatus};
use api::lineage::Lineage;
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::*;

type Received = Arc<Mutex<Vec<Value>>>;

/// An OpenLineage backend as Marquez answers: `POST /api/v1/lineage` → 201.
fn receiver() -> (String, Received, actix_web::dev::ServerHandle) {
    let received: Received = Arc::default();
    let data = web::Data::new(Arc::clone(&received));
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let server = HttpServer::new(move || {
        App::new().app_data(data.clone()).route(
            "/api/v1/lineage",
            web::post().to(
                |events: web::Data<Received>, event: web::Json<Value>| async move {
                    events.lock().expect("events").push(event.into_inner());
                    HttpResponse::Created().finish()
                },
            ),
        )
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    (url, received, handle)
}

async fn wait_for_events(received: &Received, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let events = received.lock().expect("events").clone();
        if events.len() >= count {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {count} events: {events:#?}",
            events.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn succeeds(app: &TestApp, path: &str) -> Job {
    let response = app.post(path).await;
    assert_eq!(response.status(), 202, "{path}");
    let job: Job = response.json().await.expect("job");
    let job = app.wait_until_final(job.id).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    job
}

/// The run of `job` in `events`: its two events, START first.
fn run_of<'a>(events: &'a [Value], job: &Job) -> (&'a Value, &'a Value) {
    let run_id = Lineage::run_id(job).to_string();
    let run: Vec<&Value> = events
        .iter()
        .filter(|e| e["run"]["runId"] == run_id)
        .collect();
    assert_eq!(run.len(), 2, "job {job:?}: {run:#?}");
    assert_eq!(run[0]["eventType"], "START", "{run:#?}");
    (run[0], run[1])
}

/// Every event, through OpenLineage's own model.
fn validate(events: &[Value]) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join("target/e2e-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/install-test-tools.sh",
        python.display()
    );
    let file = tempfile::NamedTempFile::new().expect("a file");
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    std::fs::write(file.path(), lines.join("\n")).expect("events written");
    let output = std::process::Command::new(python)
        .arg(root.join("scripts/validate-openlineage.py"))
        .arg(file.path())
        .output()
        .expect("the validator runs");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The jobs of every kind of run, in order: two loads, a rollback, a failed load (a bad
/// file), and a load cancelled while its swap waits.
async fn run_every_kind(app: &TestApp, pool: &PgPool) -> [Job; 5] {
    let load = "/jobs?date=2023-01-02&allow_partial=true";
    let first = succeeds(app, load).await;
    let second = succeeds(app, load).await;
    let rollback = succeeds(app, "/days/2023-01-02/rollback?version=1").await;
    let failed = app.queue("2023-01-03").await;
    let failed = app.wait_until_final(failed.id).await;
    assert_eq!(failed.status, JobStatus::Failed);
    let reader = block_swaps(pool).await;
    let cancelled = app.queue("2023-01-02").await;
    wait_until_copied(app, cancelled.id).await;
    app.post(&format!("/jobs/{}/cancel", cancelled.id)).await;
    let cancelled = app.wait_until_final(cancelled.id).await;
    reader.rollback().await.expect("release");
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    [first, second, rollback, failed, cancelled]
}

/// A load's run of 2023-01-02 from `data`'s two minutes (`bytes` of Parquet).
fn check_load_run(events: &[Value], job: &Job, data: &std::path::Path, bytes: u64) {
    let rows = 2 * rows_per_file();
    let (start, complete) = run_of(events, job);
    assert_eq!(complete["eventType"], "COMPLETE");
    for event in [start, complete] {
        assert_eq!(event["job"]["namespace"], "dwh-loader");
        assert_eq!(event["job"]["name"], "sample");
        assert_eq!(event["job"]["facets"]["jobType"]["jobType"], "LOAD");
        let nominal = &event["run"]["facets"]["nominalTime"];
        assert_eq!(nominal["nominalStartTime"], "2023-01-02T00:00:00Z");
        assert_eq!(nominal["nominalEndTime"], "2023-01-03T00:00:00Z");
        let input = &event["inputs"][0];
        assert_eq!(input["namespace"], "file");
        assert_eq!(input["name"], data.to_string_lossy().as_ref());
        let output = &event["outputs"][0];
        assert!(
            output["namespace"]
                .as_str()
                .is_some_and(|n| n.starts_with("postgres://"))
        );
        assert!(
            output["name"]
                .as_str()
                .is_some_and(|n| n.ends_with(".dwh.data_sample"))
        );
        let fields: Vec<&str> = output["facets"]["schema"]["fields"]
            .as_array()
            .expect("the table's schema")
            .iter()
            .map(|f| f["name"].as_str().expect("name"))
            .collect();
        assert_eq!(
            fields,
            [
                "department_name",
                "sensor_serial",
                "create_at",
                "product_name",
                "product_expire"
            ]
        );
    }
    let statistics = &complete["inputs"][0]["inputFacets"]["inputStatistics"];
    assert_eq!(statistics["fileCount"], 2);
    assert_eq!(statistics["rowCount"], rows);
    assert_eq!(statistics["size"], bytes);
    let written = &complete["outputs"][0]["outputFacets"]["outputStatistics"];
    assert_eq!(written["rowCount"], rows);
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn every_load_and_rollback_reports_its_run(pool: PgPool) {
    let data = a_good_day_and_a_bad_one();
    let (url, received, backend) = receiver();
    let app = spawn_app_with(&pool, data.path(), |settings| {
        settings.lineage.url = Some(url);
    })
    .await;
    let [first, second, rollback, failed, cancelled] = run_every_kind(&app, &pool).await;

    let events = wait_for_events(&received, 10).await;
    assert_eq!(events.len(), 10, "{events:#?}");
    let bytes: u64 = ["00:00", "00:01"]
        .iter()
        .map(|m| {
            let file = data.path().join(format!("2023-01-02 {m}:00.parquet"));
            std::fs::metadata(file).expect("a file").len()
        })
        .sum();
    check_load_run(&events, &first, data.path(), bytes);
    check_load_run(&events, &second, data.path(), bytes);
    let (start, complete) = run_of(&events, &rollback);
    assert_eq!(start["job"]["facets"]["jobType"]["jobType"], "ROLLBACK");
    assert_eq!(complete["eventType"], "COMPLETE");
    assert_eq!(
        complete["inputs"],
        Value::Array(Vec::new()),
        "a rollback reads no files"
    );
    let rows = &complete["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"];
    assert_eq!(*rows, 2 * rows_per_file());
    let (_, fail) = run_of(&events, &failed);
    assert_eq!(fail["eventType"], "FAIL");
    let message = fail["run"]["facets"]["errorMessage"]["message"]
        .as_str()
        .expect("error");
    assert!(message.contains("2023-01-03 00:01:00.parquet"), "{message}");
    assert_eq!(run_of(&events, &cancelled).1["eventType"], "ABORT");
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains("dwh_lineage_events_total{outcome=\"delivered\"} 10"),
        "{metrics}"
    );
    validate(&events);
    app.stop().await;
    backend.stop(true).await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_backend_that_is_down_fails_no_load(pool: PgPool) {
    let data = minutes_dir("2023-01-02 00:00", "2023-01-02 00:01");
    // A port nobody listens on: every try is refused.
    let closed = TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!("http://{}", closed.local_addr().expect("address"));
    drop(closed);
    let app = spawn_app_with(&pool, data.path(), |settings| {
        settings.lineage.url = Some(url);
    })
    .await;
    succeeds(&app, "/jobs?date=2023-01-02&allow_partial=true").await;
    assert_eq!(rows_of_day(&pool, "2023-01-02").await, 2 * rows_per_file());
    // START and COMPLETE, each after its tries, counted as failed.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let metrics = app.get("/metrics").await.text().await.expect("metrics");
        if metrics.contains("dwh_lineage_events_total{outcome=\"failed\"} 2") {
            break;
        }
        assert!(Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.stop().await;
}
