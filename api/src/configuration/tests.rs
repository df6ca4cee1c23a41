use super::*;

#[test]
fn new_matches_the_cli_defaults() {
    let parsed = Settings::try_parse_from(["api", "--database-url", "postgres://x/y"])
        .expect("defaults parse");
    let built = Settings::new("postgres://x/y", PathBuf::from("data"));
    // Environment variables of the test run may override CLI defaults; compare only
    // when they are absent.
    if std::env::var_os("DATA_DIR").is_none() && std::env::var_os("WORKERS").is_none() {
        assert_eq!(parsed.workers.count, built.workers.count);
        assert_eq!(parsed.source.data_dir, built.source.data_dir);
    }
    assert_eq!(parsed.workers.max_attempts, built.workers.max_attempts);
    assert_eq!(
        parsed.workers.stale_after_secs,
        built.workers.stale_after_secs
    );
    assert_eq!(parsed.loading.streams, built.loading.streams);
    assert_eq!(
        parsed.loading.shrink_guard_percent,
        built.loading.shrink_guard_percent
    );
    assert_eq!(
        parsed.http.http_statement_timeout_ms,
        built.http.http_statement_timeout_ms
    );
}

#[test]
fn secrets_never_reach_debug_output() {
    let mut settings = Settings::new("postgres://user:hunter2@db/dwh", PathBuf::from("data"));
    settings.http.api_token = Some("s3cret-token".into());
    settings.http.database_url = Some("postgres://dwh_api:hunter3@db/dwh".into());
    let shown = format!("{settings:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains("hunter3"), "{shown}");
    assert!(!shown.contains("s3cret-token"), "{shown}");
    assert!(shown.contains("REDACTED"), "{shown}");
}

#[test]
fn too_few_connections_for_the_workers_are_refused() {
    let mut settings = Settings::new("postgres://x/y", PathBuf::from("data"));
    assert_eq!(settings.connections_needed(), 7);
    assert_eq!(settings.check(), Ok(()));
    settings.workers.count = 4;
    assert_eq!(
        settings.check(),
        Err(
            "DB_MAX_CONNECTIONS=10 is too few for WORKERS=4 with LOAD_STREAMS=2: they need \
             up to 16 connections (WORKERS × (LOAD_STREAMS + 1) + 2, one more for the \
             watcher and one for the event relay); raise DB_MAX_CONNECTIONS or lower \
             WORKERS or LOAD_STREAMS"
                .to_owned()
        )
    );
    settings.workers.role = Role::Api; // no workers here: HTTP only
    assert_eq!(settings.check(), Ok(()));
}

#[test]
fn live_needs_a_watching_instance() {
    let mut settings = Settings::new("postgres://x/y", PathBuf::from("data"));
    settings.pipeline.live = Switch::On;
    assert_eq!(settings.check(), Ok(()));
    settings.pipeline.watch = Switch::Off;
    let refused = settings.check().expect_err("nothing to append from");
    assert!(refused.starts_with("LIVE=on appends"), "{refused}");
    settings.pipeline.watch = Switch::On;
    settings.workers.role = Role::Api;
    assert!(settings.check().is_err(), "no workers, no watcher");
}

#[test]
fn live_needs_a_directory_not_a_bucket() {
    let mut settings = Settings::new("postgres://x/y", PathBuf::from("s3://minutes/jan"));
    assert_eq!(settings.check(), Ok(()), "a bucket without LIVE");
    settings.pipeline.live = Switch::On;
    let refused = settings.check().expect_err("a bucket is not watched");
    assert!(refused.contains("names a bucket"), "{refused}");
    settings.source.data_dir = "file:///srv/minutes".into();
    assert_eq!(settings.check(), Ok(()), "file:// is a directory");
}

#[test]
fn an_open_api_beyond_loopback_is_refused_unless_intended() {
    let mut settings = Settings::new("postgres://x/y", PathBuf::from("data"));
    assert_eq!(settings.check(), Ok(()), "loopback: fine without a token");
    settings.http.bind = "0.0.0.0:8080".parse().expect("address");
    let refused = settings.check().expect_err("open to the network");
    assert!(
        refused.starts_with("BIND=0.0.0.0:8080 listens beyond this machine"),
        "{refused}"
    );
    settings.http.api_token = Some("  ".into());
    assert!(settings.check().is_err(), "a blank token is no token");
    settings.http.api_token = Some("s3cret".into());
    let weak = settings.check().expect_err("a short token");
    assert!(weak.contains("API_TOKEN has 6 characters"), "{weak}");
    settings.http.api_token = Some("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b".into());
    assert_eq!(settings.check(), Ok(()));
    settings.http.api_token = None;
    settings.http.allow_anonymous_writes = true;
    assert_eq!(settings.check(), Ok(()));
    settings.http.allow_anonymous_writes = false;
    settings.workers.role = Role::Worker; // no POST endpoints
    assert_eq!(settings.check(), Ok(()));
}

#[test]
fn a_heartbeat_not_well_below_the_stale_limit_is_refused() {
    let mut settings = Settings::new("postgres://x/y", PathBuf::from("data"));
    settings.workers.stale_after_secs = 3;
    settings.workers.heartbeat_ms = 1000;
    assert_eq!(settings.check(), Ok(()));
    settings.workers.heartbeat_ms = 1001;
    assert_eq!(
        settings.check(),
        Err(
            "HEARTBEAT_MS=1001 is not well below STALE_AFTER_SECS=3: a running job would be \
             taken for dead between two heartbeats; keep HEARTBEAT_MS at most a third of \
             STALE_AFTER_SECS × 1000"
                .to_owned()
        )
    );
}

#[test]
fn the_http_side_s_database_url_is_its_own_setting() {
    let parsed = Settings::try_parse_from([
        "api",
        "--database-url",
        "postgres://dwh_loader@db/dwh",
        "--http-database-url",
        "postgres://dwh_api@db/dwh",
    ])
    .expect("parses");
    assert_eq!(
        parsed.database_url().expect("given").expose_secret(),
        "postgres://dwh_loader@db/dwh"
    );
    assert_eq!(
        parsed.http.database_url().map(|url| url.expose_secret()),
        Some("postgres://dwh_api@db/dwh")
    );
}

#[test]
fn data_url_is_used_when_given_beside_data_dir() {
    // An image sets DATA_DIR; DATA_URL (or --data-url) still points it at a bucket.
    let parsed = Settings::try_parse_from([
        "api",
        "--database-url",
        "postgres://x/y",
        "--data-dir",
        "/data",
        "--data-url",
        "s3://minutes/january",
    ])
    .expect("both may be given");
    assert_eq!(parsed.source.location(), "s3://minutes/january");
    assert!(parsed.source.reads_a_bucket());
}

#[test]
fn a_missing_database_url_is_refused_at_start() {
    let mut settings = Settings::new("postgres://x/y", PathBuf::from("data"));
    settings.database.database_url = None;
    assert_eq!(
        settings.check(),
        Err("no database given: set DATABASE_URL or pass --database-url".to_owned())
    );
}
