//! Who sent a request and which name it asked for. Directly, that is the peer's address
//! and the `Host` header; through a reverse proxy listed in `TRUSTED_PROXIES`, what the
//! proxy says in `Forwarded` (RFC 7239) or `X-Forwarded-Host` / `X-Forwarded-For`. From
//! anyone else those headers are ignored: a client could otherwise pick its own address
//! (and dodge the failed-token count) or its own host name (and pass the host check).

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderMap};

/// The proxies whose forwarding headers are believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpAddr>);

impl TrustedProxies {
    pub fn new(addresses: Vec<IpAddr>) -> Self {
        Self(addresses)
    }

    fn trusts(&self, request: &HttpRequest) -> bool {
        request
            .peer_addr()
            .is_some_and(|peer| self.0.contains(&peer.ip().to_canonical()))
    }

    /// The `Host` the client asked for (`name` or `name:port`), if it said one.
    pub fn requested_host(&self, request: &HttpRequest) -> Option<String> {
        let headers = request.headers();
        if self.trusts(request) {
            let forwarded = last_forwarded(headers, "host")
                .or_else(|| last_listed(headers, "x-forwarded-host"));
            if forwarded.is_some() {
                return forwarded;
            }
        }
        text(headers, header::HOST.as_str()).map(str::to_owned)
    }

    /// The client's address: the peer's, or the one a trusted proxy forwarded for.
    pub fn client_ip(&self, request: &HttpRequest) -> Option<IpAddr> {
        let peer = request.peer_addr().map(|peer| peer.ip().to_canonical());
        if !self.trusts(request) {
            return peer;
        }
        let headers = request.headers();
        last_forwarded(headers, "for")
            .or_else(|| last_listed(headers, "x-forwarded-for"))
            .and_then(|value| parse_ip(&value))
            .or(peer)
    }
}

fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The last element of a comma-separated header: the one our proxy added.
fn last_listed(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = text(headers, name)?;
    let last = value.rsplit(',').next()?.trim();
    (!last.is_empty()).then(|| last.to_owned())
}

/// `parameter` (`host`, `for`) of the last `Forwarded` element that has it.
fn last_forwarded(headers: &HeaderMap, parameter: &str) -> Option<String> {
    let value = text(headers, header::FORWARDED.as_str())?;
    value.rsplit(',').find_map(|element| {
        element.split(';').find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case(parameter)
                .then(|| value.trim().trim_matches('"').to_owned())
        })
    })
}

/// An address as forwarding headers write it: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`
/// or `[2001:db8::1]:4711`, or a bare IPv6 address.
fn parse_ip(value: &str) -> Option<IpAddr> {
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    let host = match value.strip_prefix('[') {
        Some(rest) => rest.split(']').next()?,
        None => value.rsplit_once(':').map_or(value, |(host, _port)| host),
    };
    host.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    const PROXY: &str = "10.0.0.2:40000";

    fn proxies() -> TrustedProxies {
        TrustedProxies::new(vec!["10.0.0.2".parse().expect("an address")])
    }

    #[test]
    fn a_trusted_proxy_names_the_host_and_the_client() {
        let request = TestRequest::default()
            .peer_addr(PROXY.parse().expect("an address"))
            .insert_header(("Host", "api:8080"))
            .insert_header((
                "Forwarded",
                "for=198.51.100.7;host=evil.example, for=\"[2001:db8::5]:4711\";host=dwh.example.com",
            ))
            .to_http_request();
        assert_eq!(
            proxies().requested_host(&request).as_deref(),
            Some("dwh.example.com")
        );
        assert_eq!(
            proxies().client_ip(&request),
            Some("2001:db8::5".parse().expect("an address"))
        );
        let request = TestRequest::default()
            .peer_addr(PROXY.parse().expect("an address"))
            .insert_header(("Host", "api:8080"))
            .insert_header(("X-Forwarded-Host", "dwh.example.com"))
            .insert_header(("X-Forwarded-For", "203.0.113.9, 198.51.100.7"))
            .to_http_request();
        assert_eq!(
            proxies().requested_host(&request).as_deref(),
            Some("dwh.example.com")
        );
        assert_eq!(
            proxies().client_ip(&request),
            Some("198.51.100.7".parse().expect("an address"))
        );
    }

    #[test]
    fn anyone_else_s_forwarding_headers_are_ignored() {
        let request = TestRequest::default()
            .peer_addr("192.0.2.50:5000".parse().expect("an address"))
            .insert_header(("Host", "localhost:8080"))
            .insert_header(("Forwarded", "for=198.51.100.7;host=dwh.example.com"))
            .insert_header(("X-Forwarded-Host", "dwh.example.com"))
            .to_http_request();
        assert_eq!(
            proxies().requested_host(&request).as_deref(),
            Some("localhost:8080")
        );
        assert_eq!(
            proxies().client_ip(&request),
            Some("192.0.2.50".parse().expect("an address"))
        );
    }
}
