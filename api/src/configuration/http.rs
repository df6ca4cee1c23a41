//! Settings of the HTTP side: where it listens, who may write, its own database
//! connections, and what guards it against web pages and greedy clients (the names it
//! answers to, the proxies it believes, how many event streams it serves).

use std::net::{IpAddr, SocketAddr};

use clap::Args;
use secrecy::{ExposeSecret, SecretString};

/// `BIND`, `API_TOKEN`, `ALLOW_ANONYMOUS_WRITES`, `HTTP_DB_CONNECTIONS`,
/// `HTTP_STATEMENT_TIMEOUT_MS`, `HTTP_DATABASE_URL`, `ALLOWED_HOSTS`, `TRUSTED_PROXIES`,
/// `EVENTS_MAX_CLIENTS`.
#[derive(Clone, Debug, Args)]
pub struct HttpSettings {
    /// Address to listen on. Use 0.0.0.0:8080 in a container.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// When set, POST endpoints require `Authorization: Bearer <token>`.
    #[arg(long, env = "API_TOKEN", hide_env_values = true)]
    pub api_token: Option<SecretString>,

    /// Serve the POST endpoints without a token on an address beyond loopback. Without it
    /// the API refuses to start that way: anyone who reaches it could replace days.
    #[arg(long, env = "ALLOW_ANONYMOUS_WRITES")]
    pub allow_anonymous_writes: bool,

    /// Connections for HTTP requests: a pool of their own, so that no amount of HTTP
    /// traffic can take the connections a running load needs.
    #[arg(long, env = "HTTP_DB_CONNECTIONS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub http_db_connections: u32,

    /// Every statement an HTTP request runs is cancelled after this long (the request then
    /// answers 503), so a blocked query cannot hold a connection for long. Above the
    /// slowest statement the API runs: `GET /partitions/{date}` of a day loaded before its
    /// distinct counts were kept scans it (seconds for 2.7 M rows, more under load).
    #[arg(long, env = "HTTP_STATEMENT_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub http_statement_timeout_ms: u64,

    /// The HTTP requests' own PostgreSQL URL: a role that only reads and queues jobs
    /// (`dwh_api`), while the workers load as `DATABASE_URL`'s. Unset: `DATABASE_URL`.
    #[arg(
        id = "http_database_url",
        long = "http-database-url",
        env = "HTTP_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<SecretString>,

    /// Host names the service is reached by, besides `localhost` and IP addresses
    /// (comma-separated; `*.example.com` for its subdomains, `*` for any name). A request
    /// for another name is refused with 400: a web page whose name was rebound to this
    /// address (DNS rebinding) must not reach the API.
    #[arg(long, env = "ALLOWED_HOSTS", value_delimiter = ',', num_args = 0..)]
    pub allowed_hosts: Vec<String>,

    /// Addresses of reverse proxies whose `Forwarded` / `X-Forwarded-Host` /
    /// `X-Forwarded-For` headers are believed (comma-separated IPs). From anyone else
    /// these headers are ignored. (Read as text: an empty variable, as compose passes an
    /// unset one, means none.)
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', num_args = 0..)]
    pub trusted_proxies: Vec<String>,

    /// `GET /events` streams served at once by this instance; beyond it, 503 with
    /// `Retry-After`.
    #[arg(long, env = "EVENTS_MAX_CLIENTS", default_value_t = HttpSettings::EVENTS_MAX_CLIENTS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub events_max_clients: u32,
}

impl HttpSettings {
    const EVENTS_MAX_CLIENTS: u32 = 100;

    /// `HTTP_DATABASE_URL`, unless blank (compose passes an unset variable as "").
    pub fn database_url(&self) -> Option<&SecretString> {
        self.database_url
            .as_ref()
            .filter(|url| !url.expose_secret().trim().is_empty())
    }

    /// The token, if one is configured and not blank.
    pub fn api_token(&self) -> Option<&SecretString> {
        self.api_token
            .as_ref()
            .filter(|t| !t.expose_secret().trim().is_empty())
    }

    /// `TRUSTED_PROXIES` as addresses; blank entries are skipped.
    pub fn proxies(&self) -> Result<Vec<IpAddr>, String> {
        self.trusted_proxies
            .iter()
            .map(|text| text.trim())
            .filter(|text| !text.is_empty())
            .map(|text| {
                text.parse::<IpAddr>().map_err(|_| {
                    format!("TRUSTED_PROXIES: {text:?} is not an IP address (a proxy is named by its address)")
                })
            })
            .collect()
    }
}

/// The shortest `API_TOKEN` accepted: 32 characters, as `secrets.token_hex(16)` gives.
pub const MIN_TOKEN_LENGTH: usize = 32;

/// Why `token` cannot guard the API, if it cannot: too short to resist guessing, or a
/// placeholder copied from an example (`change-me…`, `<token>`, one character repeated).
pub fn weak_token(token: &str) -> Option<String> {
    let token = token.trim();
    let length = token.chars().count();
    if length < MIN_TOKEN_LENGTH {
        return Some(format!(
            "API_TOKEN has {length} characters; use at least {MIN_TOKEN_LENGTH} random ones \
             (python3 -c 'import secrets; print(secrets.token_hex(32))')"
        ));
    }
    let lower = token.to_ascii_lowercase();
    let placeholder = ["change-me", "changeme", "<", "your-", "example", "xxxxxxxx"]
        .iter()
        .any(|start| lower.starts_with(start));
    let first = token.chars().next();
    if placeholder || token.chars().all(|c| Some(c) == first) {
        return Some(
            "API_TOKEN is an example value, not a secret; set a random one \
             (python3 -c 'import secrets; print(secrets.token_hex(32))')"
                .into(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_proxies_are_none_and_names_are_refused() {
        let mut settings =
            crate::configuration::Settings::new("postgres://x/y", "data".into()).http;
        settings.trusted_proxies = vec![String::new()];
        assert_eq!(settings.proxies(), Ok(vec![]));
        settings.trusted_proxies = vec!["10.0.0.2".into(), " ::1 ".into()];
        assert_eq!(
            settings.proxies(),
            Ok(vec![
                "10.0.0.2".parse().expect("an address"),
                "::1".parse().expect("an address")
            ])
        );
        settings.trusted_proxies = vec!["proxy.internal".into()];
        assert!(
            settings
                .proxies()
                .expect_err("a name")
                .contains("proxy.internal")
        );
    }

    #[test]
    fn short_and_example_tokens_are_weak_and_random_ones_are_not() {
        assert!(weak_token("t").expect("weak").contains("has 1 characters"));
        assert!(weak_token(&"a".repeat(31)).is_some());
        assert!(
            weak_token(&"a".repeat(40))
                .expect("weak")
                .contains("example value")
        );
        assert!(weak_token("change-me-change-me-change-me-change-me").is_some());
        assert!(weak_token("<a long random token of your own choosing>").is_some());
        assert_eq!(weak_token("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"), None);
        assert_eq!(weak_token(" 9f86d081884c7d659a2feaa0c55ad015\n"), None);
    }
}
