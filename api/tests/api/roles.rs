//! Least privilege for the service: its HTTP side connects as `dwh_api` and its workers as
//! `dwh_loader`, the roles the deployment creates. Every page and endpoint answers, jobs
//! are queued, loaded, cancelled and rolled back, and `dwh_api` can do nothing else.

use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use testkit::roles::{self, pool_as, sqlstate};

use crate::helpers::*;

#[sqlx::test(migrations = false)]
async fn the_http_side_reads_and_queues_as_dwh_api_and_can_do_nothing_else(pool: PgPool) {
    let database = roles::create_roles(&pool).await;
    let loader_pool = pool_as(&pool, &database, "dwh_loader", roles::LOADER_PASSWORD).await;
    loader::MIGRATOR
        .run(&loader_pool)
        .await
        .expect("the loader role migrates");
    let api_options: PgConnectOptions = (*pool.connect_options())
        .clone()
        .username("dwh_api")
        .password(roles::API_PASSWORD)
        .database(&database);
    let api_url = format!(
        "postgres://dwh_api:{}@{}:{}/{database}",
        roles::API_PASSWORD,
        api_options.get_host(),
        api_options.get_port()
    );
    let data = golden_dir();
    let app = spawn_app_with(&loader_pool, data.path(), |s| {
        s.http.database_url = Some(api_url.clone().into());
    })
    .await;

    queue_load_roll_back_and_read_everything(&app).await;
    let http_roles: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT usename::text FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'dwh-loader http'",
    )
    .fetch_all(&pool)
    .await
    .expect("sessions");
    assert_eq!(http_roles, ["dwh_api"], "the HTTP side's sessions");
    app.stop().await;

    dwh_api_can_write_nothing_else(&pool, &database).await;
    loader_pool.close().await;
}

/// Queues, loads, replays a keyed request, rolls back, cancels, and reads every page and
/// endpoint: all of it through the HTTP side's own role.
async fn queue_load_roll_back_and_read_everything(app: &TestApp) {
    assert_eq!(app.get("/readyz").await.status(), 200);
    let first = app.queue("2023-01-01").await;
    app.wait_until_final(first.id).await;
    let second = app.queue("2023-01-01").await;
    let second = app.wait_until_final(second.id).await;
    assert_eq!(second.status, api::domain::JobStatus::Succeeded);
    // A keyed request and its replay: the key is kept and answered from.
    let keyed = |()| {
        app.client
            .post(app.url("/jobs?date=2023-01-02&allow_partial=true"))
            .header("Idempotency-Key", "roles-test-key")
            .send()
    };
    let queued: Value = keyed(()).await.expect("POST").json().await.expect("job");
    let replayed: Value = keyed(()).await.expect("POST").json().await.expect("job");
    assert_eq!(queued["id"], replayed["id"], "{queued} {replayed}");
    let keyed_job = queued["id"].as_str().expect("id").parse().expect("uuid");
    app.wait_until_final(keyed_job).await;
    let rollback = app.post("/days/2023-01-01/rollback?version=1").await;
    assert_eq!(rollback.status(), 202);
    let rollback: Value = rollback.json().await.expect("job");
    let cancel = app
        .post(&format!(
            "/jobs/{}/cancel",
            rollback["id"].as_str().expect("id")
        ))
        .await;
    assert!(
        [200, 202, 409].contains(&cancel.status().as_u16()),
        "{}",
        cancel.status()
    );
    for path in [
        "/jobs",
        &format!("/jobs/{}", first.id),
        "/days?from=2023-01-01&to=2023-01-31",
        "/partitions",
        "/partitions/2023-01-01",
        "/days/2023-01-01/versions",
        "/",
        "/days/2023-01-01",
        "/ui/jobs",
        "/ui/fragments/day-cell/2023-01-01",
        "/ui/fragments/versions/2023-01-01",
        "/ui/fragments/active-job/2023-01-01",
        "/metrics",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
    }
}

/// As `dwh_api`, no statement that changes jobs, the ledger or the warehouse is allowed.
async fn dwh_api_can_write_nothing_else(pool: &PgPool, database: &str) {
    let api_pool = pool_as(pool, database, "dwh_api", roles::API_PASSWORD).await;
    for statement in [
        "DELETE FROM ops.jobs",
        "TRUNCATE ops.job_attempts",
        "DELETE FROM ops.minute_files",
        "UPDATE dwh.day_loads SET rows = 0",
        "INSERT INTO dwh.data_sample (create_at) VALUES ('2023-01-01 00:00')",
        "DROP TABLE dwh.data_sample_p20230101",
        "CREATE TABLE dwh.intruder (id int)",
        "CREATE TABLE ops.intruder (id int)",
    ] {
        let error = sqlx::raw_sql(statement)
            .execute(&api_pool)
            .await
            .expect_err(statement);
        assert_eq!(sqlstate(error), "42501", "{statement}");
    }
    api_pool.close().await;
}
