//! The dashboard's pages and its event stream, from a real app on real files: what each
//! page says of real loads, real failures and real jobs; bad input as 400 pages; and
//! `GET /events` delivering a job's life, then what a reconnecting client missed.

use std::time::Duration;

use api::domain::JobStatus;
use futures::StreamExt;
use sqlx::PgPool;

use crate::helpers::*;

async fn html(app: &TestApp, path: &str) -> (u16, String) {
    let response = app
        .client
        .get(app.url(path))
        .header("Accept", "text/html")
        .send()
        .await
        .expect("GET");
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(kind.starts_with("text/html"), "{path}: {kind}");
    (status, response.text().await.expect("body"))
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn the_month_shows_each_day_in_its_state_and_the_day_its_minutes(pool: PgPool) {
    let data = minutes_dir("2023-01-02 00:00", "2023-01-02 00:02"); // loaded (partial)
    add_minutes(data.path(), "2023-01-03 00:00", "2023-01-03 00:00"); // failed
    std::fs::write(data.path().join("2023-01-03 00:01:00.parquet"), b"junk").expect("write");
    add_minutes(data.path(), "2023-01-05 00:00", "2023-01-05 00:04"); // arriving
    let app = spawn_app(&pool, data.path()).await;
    for day in ["2023-01-02", "2023-01-03"] {
        let job = app.queue(day).await;
        app.wait_until_final(job.id).await;
    }

    let (status, month) = html(&app, "/").await;
    assert_eq!(status, 200);
    assert!(month.contains("<title>The warehouse by day · dwh-loader</title>"));
    assert!(month.contains("<caption>January 2023</caption>"), "{month}");
    for expected in [
        r#"data-date="2023-01-02" data-state="partial"><span class="visually-hidden">Monday 2 January 2023: </span>"#,
        r#"data-date="2023-01-03" data-state="failed">"#,
        r#"data-date="2023-01-04" data-state="empty">"#,
        r#"data-date="2023-01-05" data-state="arriving">"#,
        r#"<span class="state-word">Failed</span>"#,
        "5,742 rows", // 2023-01-02: 3 minutes × 1,914
    ] {
        assert!(month.contains(expected), "{expected} not in the month page");
    }

    let (status, day) = html(&app, "/days/2023-01-02").await;
    assert_eq!(status, 200);
    for expected in [
        "3 loaded",
        "1,437 missing",
        "Distinct sensor serials",
        r#"aria-label="The day's 1,440 minutes: 3 loaded, 1437 missing""#,
    ] {
        assert!(day.contains(expected), "{expected} not in the day page");
    }
    let (_, failed) = html(&app, "/days/2023-01-03").await;
    assert!(
        failed.contains("2023-01-03 00:01:00.parquet"),
        "the failed day names the file"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn bad_input_to_the_pages_is_a_400_page(pool: PgPool) {
    let data = minutes_dir("2023-01-02 00:00", "2023-01-02 00:00");
    let app = spawn_app(&pool, data.path()).await;
    for path in [
        "/days/2023-02-30",
        "/days/not-a-date",
        "/days/2023-1-1",
        "/ui/fragments/day-cell/2023-13-01",
        "/ui/fragments/active-job/2023-02-29",
        "/ui/jobs?limit=0",
        "/ui/jobs?cursor=00000000-0000-0000-0000-000000000000",
        "/ui/jobs?from=yesterday",
        "/ui/jobs?status=bogus",
        "/ui/jobs?limit=many",
    ] {
        let (status, page) = html(&app, path).await;
        assert_eq!(status, 400, "{path}");
        assert!(page.contains("<title>Bad Request"), "{path}: {page}");
    }
    app.stop().await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_browser_gets_the_job_list_page_and_a_client_its_json(pool: PgPool) {
    let data = minutes_dir("2023-01-02 00:00", "2023-01-02 00:00");
    let app = spawn_app(&pool, data.path()).await;
    let job = app.queue("2023-01-02").await;
    app.wait_until_final(job.id).await;

    let (status, page) = html(&app, "/jobs").await;
    assert_eq!(status, 200);
    assert!(page.contains(&format!(r#"data-job="{}""#, job.id)));
    assert!(page.contains("Succeeded"));
    let (_, filtered) = html(&app, "/ui/jobs?status=failed").await;
    assert!(filtered.contains("No jobs match."));
    // The filter form as a browser sends it with "any" status and no dates.
    let (status, unfiltered) = html(&app, "/ui/jobs?status=&from=&to=").await;
    assert_eq!(status, 200, "{unfiltered}");
    assert!(unfiltered.contains(&format!(r#"data-job="{}""#, job.id)));
    let (status, dated) = html(&app, "/ui/jobs?status=succeeded&from=2023-01-02&to=").await;
    assert_eq!(status, 200, "{dated}");
    assert!(dated.contains(&format!(r#"data-job="{}""#, job.id)));

    let json = app.get("/jobs").await;
    assert_eq!(json.status(), 200);
    let body: serde_json::Value = json.json().await.expect("json");
    assert_eq!(body["jobs"][0]["id"], job.id.to_string());
    app.stop().await;
}

/// Reads events from `/events` until `done` holds for the ones read (at most 60 s).
async fn read_events(
    app: &TestApp,
    last_event_id: Option<&str>,
    done: impl Fn(&[(String, String, serde_json::Value)]) -> bool,
) -> Vec<(String, String, serde_json::Value)> {
    let mut request = app.client.get(app.url("/events"));
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let response = request.send().await.expect("GET /events");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().expect("type"),
        "text/event-stream"
    );
    let mut stream = response.bytes_stream();
    let mut text = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done(&events) {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("events in time")
            .expect("stream open")
            .expect("chunk");
        text.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                    .map(str::to_owned)
            };
            if let (Some(name), Some(data)) = (field("event"), field("data")) {
                let id = field("id").unwrap_or_default();
                events.push((id, name, serde_json::from_str(&data).expect("json data")));
            }
        }
    }
    events
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn events_follow_a_job_and_a_reconnect_gets_what_it_missed(pool: PgPool) {
    let data = minutes_dir("2023-01-02 00:00", "2023-01-02 00:09");
    let app = spawn_app(&pool, data.path()).await;
    let finished = |id: uuid::Uuid| {
        move |events: &[(String, String, serde_json::Value)]| {
            events
                .iter()
                .any(|(_, _, e)| e["job_id"] == id.to_string() && e["kind"] == "finished")
        }
    };
    let listening = {
        let app = &app;
        async move {
            // Subscribed before the job is queued: the stream is open once its head arrives.
            tokio::time::sleep(Duration::from_millis(300)).await;
            app.queue("2023-01-02").await
        }
    };
    let (job, events) = tokio::join!(listening, async {
        // The job's id is not known yet: read until any job has finished.
        read_events(&app, None, |events| {
            events.iter().any(|(_, _, e)| e["kind"] == "finished")
        })
        .await
    });
    let kinds: Vec<&str> = events
        .iter()
        .filter(|(_, name, e)| name == "job" && e["job_id"] == job.id.to_string())
        .map(|(_, _, e)| e["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds.first(), Some(&"created"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"finished"), "{kinds:?}");
    assert!(kinds.contains(&"status"), "queued → running: {kinds:?}");
    let ids: Vec<String> = events
        .iter()
        .map(|e| e.0.clone())
        .filter(|id| !id.is_empty())
        .collect();
    let numbers: Vec<u64> = ids
        .iter()
        .map(|id| {
            id.split_once('.')
                .expect("instance.n")
                .1
                .parse()
                .expect("n")
        })
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[0] + 1 == w[1]),
        "ids count up: {ids:?}"
    );
    assert!(
        events
            .iter()
            .any(|(_, name, e)| name == "day" && e["date"] == "2023-01-02"),
        "the day's state changed with its load"
    );
    assert_eq!(
        app.job(job.id).await.status,
        JobStatus::Succeeded,
        "the stream followed a real load"
    );

    // A client that saw only the first event reconnects: it is sent the rest, in order.
    let first = &ids[0];
    let replayed = read_events(&app, Some(first), finished(job.id)).await;
    let replayed_ids: Vec<String> = replayed.iter().map(|e| e.0.clone()).collect();
    assert_eq!(
        replayed_ids,
        ids[1..],
        "everything after {first}, nothing twice"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn the_month_charts_recent_loads_and_the_latest_backfill(pool: PgPool) {
    let data = minutes_dir("2023-01-02 00:00", "2023-01-02 00:01");
    add_minutes(data.path(), "2023-01-03 00:00", "2023-01-03 00:01");
    let app = spawn_app(&pool, data.path()).await;
    let response = app
        .post("/jobs?from=2023-01-02&to=2023-01-03&allow_partial=true")
        .await;
    assert_eq!(response.status(), 202);
    let backfill: serde_json::Value = response.json().await.expect("json");
    for job in backfill["created"].as_array().expect("created") {
        let id = job["id"].as_str().expect("id").parse().expect("uuid");
        app.wait_until_final(id).await;
    }

    let (_, month) = html(&app, "/").await;
    for expected in [
        "Duration of each load, in seconds: 2 loads, median",
        "Rows loaded per second, in millions: 2 loads, median",
        "Timeline of the latest backfill: 2 days over",
        "Duration of the last 2 successful loads, oldest first",
    ] {
        assert!(month.contains(expected), "{expected} not in the month page");
    }
    app.stop().await;
}
