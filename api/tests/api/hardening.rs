//! The HTTP side against web pages and greedy or guessing clients: other host names
//! (DNS rebinding), framing and sniffing headers, trusted proxies, internal errors kept
//! off pages, the data source's location kept off the empty page, a cap on event streams,
//! weak tokens, and guessing the token.

use std::time::Duration;

use futures::StreamExt;
use sqlx::PgPool;

use crate::helpers::*;

const TOKEN: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b";

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_request_for_a_rebound_name_is_refused_before_anything_runs(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let app = spawn_app_with(&pool, data.path(), |s| {
        api_only(s);
        s.http.allowed_hosts = vec!["dwh.example.com".into()];
    })
    .await; // no token: an open API on loopback, the rebinding attack's target
    let path = "/jobs?date=2023-01-01&allow_partial=true";
    for host in [
        "rebound.example",
        "rebound.example:8080",
        "localhost.evil.example",
    ] {
        let response = app
            .client
            .post(app.url(path))
            .header("Host", host)
            .header("Origin", format!("http://{host}"))
            .send()
            .await
            .expect("request");
        let (status, problem) = problem(response).await;
        assert_eq!(status, 400, "{host}");
        assert_eq!(problem["type"], "urn:dwh-loader:problem:unknown-host");
        assert!(
            problem["detail"]
                .as_str()
                .expect("detail")
                .contains("ALLOWED_HOSTS"),
            "{problem}"
        );
        let page = app
            .client
            .get(app.url("/"))
            .header("Host", host)
            .send()
            .await
            .expect("GET /");
        assert_eq!(page.status(), 400, "a page read for {host}");
    }
    assert_eq!(job_count(&pool).await, 0, "no job was queued");
    for host in ["localhost:8080", "dwh.example.com", "127.0.0.1"] {
        let response = app
            .client
            .get(app.url("/jobs"))
            .header("Host", host)
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 200, "{host}");
    }
    app.stop().await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn every_response_forbids_framing_and_sniffing(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let app = spawn_app(&pool, data.path()).await;
    for path in [
        "/",
        "/ui/jobs",
        "/docs/",
        "/jobs",
        "/ui/assets/dashboard.js",
        "/nowhere",
    ] {
        let response = app.get(path).await;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let policy = header("content-security-policy");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert!(policy.contains("default-src 'self'"), "{path}: {policy}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
    }
    app.stop().await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn behind_a_trusted_proxy_the_forwarded_host_is_the_one_checked(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let proxied = |trusted: bool| {
        move |s: &mut api::configuration::Settings| {
            api_only(s);
            s.http.allowed_hosts = vec!["dwh.example.com".into()];
            if trusted {
                s.http.trusted_proxies = vec!["127.0.0.1".into()];
            }
        }
    };
    // The proxy rewrites Host to its upstream's name and says what the browser asked for.
    let post = |app: &TestApp, date: &str| {
        app.client
            .post(app.url(&format!("/jobs?date={date}&allow_partial=true")))
            .header("Host", "api:8080")
            .header("X-Forwarded-Host", "dwh.example.com")
            .header("Origin", "https://dwh.example.com")
            .header("Sec-Fetch-Site", "same-origin")
            .send()
    };
    let untrusted = spawn_app_with(&pool, data.path(), proxied(false)).await;
    let response = post(&untrusted, "2023-01-01").await.expect("request");
    assert_eq!(response.status(), 400, "api is not a name of the service");
    untrusted.stop().await;

    let trusted = spawn_app_with(&pool, data.path(), proxied(true)).await;
    let response = post(&trusted, "2023-01-01").await.expect("request");
    assert_eq!(
        response.status(),
        202,
        "the dashboard's POST through the proxy"
    );
    let forged = trusted
        .client
        .post(trusted.url("/jobs?date=2023-01-01&allow_partial=true"))
        .header("X-Forwarded-Host", "rebound.example")
        .send()
        .await
        .expect("request");
    assert_eq!(forged.status(), 400, "the proxy's word is checked too");
    trusted.stop().await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn a_page_shows_no_internal_error_and_no_server_path(pool: PgPool) {
    let data = tempfile::tempdir().expect("empty data dir");
    let app = spawn_app(&pool, data.path()).await;
    let response = app
        .client
        .get(app.url("/"))
        .header("Accept", "text/html")
        .send()
        .await
        .expect("GET /");
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("page");
    assert!(page.contains("No files yet"), "{page}");
    let path = data.path().to_string_lossy().into_owned();
    assert!(!page.contains(&path), "the page shows {path}: {page}");

    sqlx::raw_sql("ALTER TABLE ops.jobs RENAME TO jobs_elsewhere")
        .execute(&pool)
        .await
        .expect("break the jobs table");
    let response = app
        .client
        .get(app.url("/ui/jobs"))
        .header("Accept", "text/html")
        .send()
        .await
        .expect("GET /ui/jobs");
    assert_eq!(response.status(), 500);
    let page = response.text().await.expect("page");
    assert!(
        page.contains("an internal error occurred; it has been logged"),
        "{page}"
    );
    assert!(
        !page.contains("relation"),
        "the database's words reach the page: {page}"
    );
    app.stop().await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn event_streams_beyond_the_cap_are_told_to_come_back_later(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let app = spawn_app_with(&pool, data.path(), |s| s.http.events_max_clients = 2).await;
    let open = || app.client.get(app.url("/events")).send();
    let first = open().await.expect("first stream");
    let second = open().await.expect("second stream");
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let refused = open().await.expect("third stream");
    assert_eq!(refused.status(), 503);
    let retry_after = refused
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(retry_after.is_some_and(|s| s > 0), "{retry_after:?}");
    let (_, problem) = problem(refused).await;
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("EVENTS_MAX_CLIENTS"),
        "{problem}"
    );
    // A client that goes away gives its place back.
    let mut stream = first.bytes_stream();
    stream
        .next()
        .await
        .expect("the first chunk")
        .expect("bytes");
    drop(stream);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let again = open().await.expect("stream");
        if again.status() == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place never came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(second);
    app.stop().await;
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn weak_tokens_are_refused_at_start(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    for weak in ["t", "change-me-change-me-change-me-change-me"] {
        let mut settings = test_settings(data.path());
        settings.http.api_token = Some(weak.into());
        let error = api::startup::Application::build_with_pool(settings, pool.clone())
            .await
            .err()
            .expect("a weak token is refused");
        assert!(error.to_string().contains("API_TOKEN"), "{error}");
    }
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn an_address_that_guesses_the_token_is_slowed_down(pool: PgPool) {
    let data = minutes_dir("2023-01-01 00:00", "2023-01-01 00:00");
    let app = spawn_app_with(&pool, data.path(), |s| {
        api_only(s);
        s.http.api_token = Some(TOKEN.into());
        // As behind a proxy, so that the test can speak from two addresses.
        s.http.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let post = |client_address: &'static str, token: &str| {
        app.client
            .post(app.url("/jobs?date=2023-01-01&allow_partial=true"))
            .header("X-Forwarded-For", client_address)
            .bearer_auth(token)
            .send()
    };
    for guess in 0..10 {
        let response = post("198.51.100.7", &format!("guess-{guess}"))
            .await
            .expect("guess");
        assert_eq!(response.status(), 401, "guess {guess}");
    }
    for token in ["guess-10", TOKEN] {
        let response = post("198.51.100.7", token).await.expect("request");
        assert_eq!(
            response.status(),
            429,
            "the guesser waits, whatever it sends"
        );
        assert!(response.headers().contains_key("retry-after"));
    }
    let response = post("203.0.113.9", TOKEN).await.expect("request");
    assert_eq!(response.status(), 202, "another address is not held back");
    app.stop().await;
}
