//! Operating it: late days (`due`) in `GET /days`, `GET /datasets` and the metrics; the
//! queue's and the workers' gauges; and the alert rules and the Grafana dashboard naming
//! only metrics the service exports.

use std::collections::BTreeSet;

use api::domain::JobStatus;
use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::*;

/// The value of the series `name{labels}` (labels as exported, in order) in `metrics`.
fn sample_value(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

/// The days from `first` to the newest past due at 06:00 UTC at `now`, less `loaded`.
fn late_days(first: NaiveDate, now: DateTime<Utc>, loaded: u64) -> u64 {
    let due_today = now.time() >= NaiveTime::from_hms_opt(6, 0, 0).expect("06:00");
    let last_due = now.date_naive() - Days::new(if due_today { 1 } else { 2 });
    u64::try_from((last_due - first).num_days() + 1).expect("past") - loaded
}

/// `GET /days`: each day's `due_at` (06:00 the next day) and whether it is late.
async fn check_days(app: &TestApp) {
    let days: Value = app
        .get("/days?from=2023-01-02&to=2023-01-05")
        .await
        .json()
        .await
        .expect("days");
    let seen: Vec<(&str, &str, &str, bool)> = days
        .as_array()
        .expect("days")
        .iter()
        .map(|d| {
            let field = |name: &str| d[name].as_str().expect(name);
            (
                field("date"),
                field("state"),
                field("due_at"),
                d["late"].as_bool().expect("late"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("2023-01-02", "loaded", "2023-01-03T06:00:00Z", false),
            ("2023-01-03", "arriving", "2023-01-04T06:00:00Z", true),
            ("2023-01-04", "empty", "2023-01-05T06:00:00Z", true),
            ("2023-01-05", "partial", "2023-01-06T06:00:00Z", true),
        ]
    );
    // Today is not due before tomorrow 06:00.
    let today = Utc::now().date_naive();
    let today_status: Value = app
        .get(&format!("/days?from={today}&to={today}"))
        .await
        .json()
        .await
        .expect("today");
    assert_eq!(today_status[0]["late"], false, "{today_status}");
}

/// `GET /datasets/sample` and the metrics: the late days from 2023-01-02, the oldest
/// 2023-01-03; the newest loaded day the partial 2023-01-05.
async fn check_lateness(app: &TestApp) {
    // The dataset: every day from its first (2023-01-02) to the newest past due, but the
    // one loaded whole, is late (the partial one too); the oldest is 2023-01-03, due on
    // the 4th at 06:00.
    let before = Utc::now();
    let sample = sample_dataset(app).await;
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    let after = Utc::now();
    assert_eq!(sample["due"], "06:00");
    let late = sample["days"]["late"].as_u64().expect("late");
    let first = day("2023-01-02");
    assert!(
        [late_days(first, before, 1), late_days(first, after, 1)].contains(&late),
        "{sample}"
    );
    assert_eq!(sample["days"]["oldest_late_day"], "2023-01-03");
    let due = DateTime::parse_from_rfc3339("2023-01-04T06:00:00Z").expect("due");
    let late_seconds = sample["days"]["late_seconds"].as_i64().expect("seconds");
    assert!(
        ((before - due.with_timezone(&Utc)).num_seconds()
            ..=(after - due.with_timezone(&Utc)).num_seconds())
            .contains(&late_seconds),
        "{sample}"
    );

    // The same in the metrics; the newest loaded day is the partial 2023-01-05.
    let late_gauge = sample_value(&metrics, r#"dwh_days{dataset="sample",state="late"}"#);
    assert!(
        late_gauge.is_some_and(
            |n| [late_days(first, before, 1), late_days(first, after, 1)].contains(&(n as u64))
        ),
        "{metrics}"
    );
    let oldest = sample_value(&metrics, r#"dwh_oldest_late_day_seconds{dataset="sample"}"#)
        .expect("oldest late day");
    assert!(
        (oldest - late_seconds as f64).abs() <= 60.0,
        "{oldest} vs {late_seconds}"
    );
    assert_eq!(
        sample_value(
            &metrics,
            r#"dwh_newest_loaded_day_timestamp_seconds{dataset="sample"}"#
        ),
        Some(1_672_876_800.0) // 2023-01-05T00:00:00Z
    );
    assert_eq!(
        sample_value(&metrics, r#"dwh_days{dataset="sample",state="partial"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample_value(&metrics, r#"dwh_days{dataset="sample",state="loaded"}"#),
        Some(1.0)
    );
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_day_past_due_and_not_loaded_is_late(pool: PgPool) {
    let data = minutes_dir("2023-01-02 00:00", "2023-01-02 23:59"); // loaded: on time
    add_minutes(data.path(), "2023-01-03 00:00", "2023-01-03 00:02"); // arriving: late
    add_minutes(data.path(), "2023-01-05 00:00", "2023-01-05 00:01"); // partial: late
    let app = spawn_app_with(&pool, data.path(), |settings| {
        settings.datasets.sample_due = Some("06:00".to_owned());
    })
    .await;
    for day in ["2023-01-02", "2023-01-05"] {
        let job = app.queue(day).await;
        assert_eq!(
            app.wait_until_final(job.id).await.status,
            JobStatus::Succeeded
        );
    }

    check_days(&app).await;
    check_lateness(&app).await;
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert_eq!(sample_value(&metrics, "dwh_workers_alive"), Some(1.0));
    app.stop().await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn without_a_due_time_no_day_is_late(pool: PgPool) {
    let data = minutes_dir("2023-01-03 00:00", "2023-01-03 00:02");
    let app = spawn_app(&pool, data.path()).await;
    let days: Value = app
        .get("/days?from=2023-01-02&to=2023-01-03")
        .await
        .json()
        .await
        .expect("days");
    for day in days.as_array().expect("days") {
        assert_eq!(
            (&day["late"], &day["due_at"]),
            (&Value::Bool(false), &Value::Null)
        );
    }
    let sample = sample_dataset(&app).await;
    assert_eq!(
        (&sample["due"], &sample["days"]["late"]),
        (&Value::Null, &Value::from(0))
    );
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert_eq!(
        sample_value(&metrics, r#"dwh_oldest_late_day_seconds{dataset="sample"}"#),
        Some(0.0)
    );
    app.stop().await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn the_queue_failures_and_silent_heartbeats_are_gauged(pool: PgPool) {
    let data = a_good_day_and_a_bad_one();
    // An instance without workers: what it queues waits. Its reaper would take back the
    // silent job below after STALE_AFTER_SECS: not within this test.
    let app = spawn_app_with(&pool, data.path(), |settings| {
        api_only(settings);
        settings.workers.stale_after_secs = 3600;
    })
    .await;
    app.queue("2023-01-02").await;
    // A job of another instance that stopped reporting five minutes ago, and one that
    // failed (each trigger counted on its own).
    sqlx::query(
        "INSERT INTO ops.jobs (id, date, status, attempt, worker_id, started_at, heartbeat_at)
         VALUES (gen_random_uuid(), '2023-01-04', 'running', 1, 'gone:0',
                 now() - interval '6 minutes', now() - interval '5 minutes')",
    )
    .execute(&pool)
    .await
    .expect("a silent running job");
    sqlx::query(
        "INSERT INTO ops.jobs (id, date, status, attempt, trigger, finished_at, error_message)
         VALUES (gen_random_uuid(), '2023-01-05', 'failed', 3, 'auto', now(), 'bad file')",
    )
    .execute(&pool)
    .await
    .expect("a failed job");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert_eq!(sample_value(&metrics, "dwh_workers_alive"), Some(0.0));
    let waited = sample_value(
        &metrics,
        r#"dwh_queue_oldest_runnable_seconds{dataset="sample"}"#,
    )
    .expect("oldest runnable");
    assert!((1.0..60.0).contains(&waited), "{waited}");
    let silent = sample_value(
        &metrics,
        r#"dwh_running_job_heartbeat_age_seconds{dataset="sample"}"#,
    )
    .expect("heartbeat age");
    assert!((300.0..360.0).contains(&silent), "{silent}");
    for (trigger, failed) in [("auto", 1.0), ("api", 0.0), ("backfill", 0.0)] {
        let series =
            format!(r#"dwh_jobs_failed_last_hour{{dataset="sample",trigger="{trigger}"}}"#);
        assert_eq!(sample_value(&metrics, &series), Some(failed), "{trigger}");
    }
    app.stop().await;
}

/// `GET /datasets/sample`.
async fn sample_dataset(app: &TestApp) -> Value {
    let response = app.get("/datasets/sample").await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("sample")
}

/// Metric names in `text`: `dwh_…` and `http_…` words.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            if word.starts_with("dwh_") || word.starts_with("http_") {
                names.insert(std::mem::take(&mut word));
            }
            word.clear();
        }
    }
    names
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn the_alert_rules_and_the_dashboard_use_only_exported_metrics(pool: PgPool) {
    let data = minutes_dir("2023-01-02 00:00", "2023-01-02 00:01");
    let app = spawn_app(&pool, data.path()).await;
    let job = app.queue("2023-01-02").await;
    assert_eq!(
        app.wait_until_final(job.id).await.status,
        JobStatus::Succeeded
    );
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    // Each family and, for histograms, its series' names.
    let mut exported = BTreeSet::new();
    for line in metrics.lines() {
        let mut words = line.split_whitespace();
        if let (Some("#"), Some("TYPE"), Some(name), Some(kind)) =
            (words.next(), words.next(), words.next(), words.next())
        {
            exported.insert(name.to_owned());
            if kind == "histogram" {
                for suffix in ["_bucket", "_sum", "_count"] {
                    exported.insert(format!("{name}{suffix}"));
                }
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for file in [
        "deploy/prometheus/alerts.yml",
        "deploy/grafana/dwh-loader.json",
    ] {
        let text = std::fs::read_to_string(root.join(file)).expect(file);
        let used = metric_names(&text);
        assert!(used.len() >= 5, "{file} names {used:?}");
        let unknown: Vec<_> = used.difference(&exported).collect();
        assert!(
            unknown.is_empty(),
            "{file} uses metrics the service does not export: {unknown:?}"
        );
    }
    app.stop().await;
}
