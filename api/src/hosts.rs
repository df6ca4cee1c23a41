//! The host names the service answers to. A web page can rebind its own name to this
//! machine's address (DNS rebinding): the browser then takes the service for the page's
//! own site, sends it the page's requests with `Host: <the page's name>`, and passes any
//! check that compares `Origin` with `Host`. So every request must ask for a name the
//! service is known by: `localhost` (and its subdomains), any IP address (a rebound page
//! always asks for a name, never an address), and the names in `ALLOWED_HOSTS`.

use std::net::IpAddr;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::web;

use crate::forwarded::TrustedProxies;
use crate::problem;

/// `localhost` and `ALLOWED_HOSTS`: exact names, `*.domain` for a domain's subdomains, or
/// `*` for any name.
#[derive(Clone, Debug)]
pub struct AllowedHosts {
    names: Vec<String>,
}

impl AllowedHosts {
    pub fn new(configured: &[String]) -> Self {
        let names = configured
            .iter()
            .map(|name| name.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|name| !name.is_empty())
            .chain(["localhost".to_owned(), "*.localhost".to_owned()])
            .collect();
        Self { names }
    }

    /// Whether `host` (`name`, `name:port`, `[v6]:port`) is one the service answers to.
    pub fn allows(&self, host: &str) -> bool {
        let name = name_of(host).trim_end_matches('.').to_ascii_lowercase();
        if name.parse::<IpAddr>().is_ok() {
            return true;
        }
        self.names.iter().any(|allowed| match allowed.as_str() {
            "*" => true,
            pattern => match pattern.strip_prefix("*.") {
                Some(domain) => name
                    .strip_suffix(domain)
                    .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
                None => name == pattern,
            },
        })
    }
}

/// The name of `name:port`, `[v6]` or `[v6]:port`.
fn name_of(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Middleware: a request for a name the service is not known by is answered 400 before
/// any handler runs. A request without a `Host` (HTTP/1.0, no browser sends one) passes.
pub async fn refuse_unknown_hosts(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let refused = {
        let allowed = request.app_data::<web::Data<AllowedHosts>>();
        let proxies = request.app_data::<web::Data<TrustedProxies>>();
        match (allowed, proxies) {
            (Some(allowed), Some(proxies)) => proxies
                .requested_host(request.request())
                .filter(|host| !allowed.allows(host)),
            _ => None,
        }
    };
    let Some(host) = refused else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let path = request.path().to_owned();
    let response = problem::plain(
        StatusCode::BAD_REQUEST,
        "unknown-host",
        format!(
            "this service is not known as {host:?}; if that is its name, add it to \
             ALLOWED_HOSTS (a page whose name was rebound to this address is refused so)"
        ),
        &path,
    );
    Ok(request.into_response(response).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_addresses_and_listed_names_are_allowed_and_others_are_not() {
        let hosts = AllowedHosts::new(&["dwh.example.com".into(), "*.corp.example".into()]);
        for host in [
            "localhost",
            "localhost:8080",
            "LOCALHOST.",
            "app.localhost:8080",
            "127.0.0.1:8080",
            "[::1]:8080",
            "10.1.2.3",
            "dwh.example.com",
            "DWH.example.com:443",
            "a.b.corp.example",
        ] {
            assert!(hosts.allows(host), "{host}");
        }
        for host in [
            "rebound.example",
            "rebound.example:8080",
            "localhost.rebound.example",
            "corp.example",
            "evilcorp.example",
            "dwh.example.com.evil",
            "",
        ] {
            assert!(!hosts.allows(host), "{host}");
        }
        assert!(AllowedHosts::new(&["*".into()]).allows("anything.example"));
        assert!(!AllowedHosts::new(&[String::new()]).allows("anything.example"));
    }
}
