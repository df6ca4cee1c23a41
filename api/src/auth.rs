//! Who may change things: the bearer-token check (with wrong tokens counted per address,
//! `strikes.rs`), and the refusal of cross-site browser requests, for the endpoints that
//! change things.

use std::future::{Ready, ready};
use std::time::Instant;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::forwarded::TrustedProxies;
use crate::problem::ApiError;

pub use strikes::Strikes;

mod strikes;

/// The configured token; `None` leaves the API open (for a local setup).
#[derive(Clone, Debug)]
pub struct ApiToken(pub Option<SecretString>);

/// Proof that the request may change things: present as a handler argument, it makes the
/// handler answer 403 to a cross-site browser request, and 401 unless the request carries
/// `Authorization: Bearer <API_TOKEN>` (when a token is configured); 429 to an address
/// that sent too many wrong tokens lately.
#[derive(Debug)]
pub struct Authorized;

impl FromRequest for Authorized {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let none = TrustedProxies::default();
        let proxies = request
            .app_data::<web::Data<TrustedProxies>>()
            .map_or(&none, |proxies| proxies.get_ref());
        ready(same_site(request, proxies).and_then(|()| authorize(request, proxies)))
    }
}

/// The token check, counted: an address with too many recent failures is not even
/// compared, and each wrong token counts against its address.
fn authorize(request: &HttpRequest, proxies: &TrustedProxies) -> Result<Authorized, ApiError> {
    let Some(expected) = request
        .app_data::<web::Data<ApiToken>>()
        .and_then(|token| token.0.as_ref().map(|t| t.expose_secret().to_owned()))
    else {
        return Ok(Authorized);
    };
    let strikes = request.app_data::<web::Data<Strikes>>();
    let client = proxies.client_ip(request);
    let now = Instant::now();
    if let (Some(strikes), Some(client)) = (strikes, client)
        && let Some(wait) = strikes.wait_for(client, now)
    {
        return Err(ApiError::TooManyFailures {
            detail: format!(
                "too many wrong tokens from {client}; try again in {} s",
                wait.as_secs().max(1)
            ),
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    let result = check(request, &expected);
    let wrong = matches!(&result, Err(ApiError::Unauthorized(message)) if *message == WRONG_TOKEN);
    if let (true, Some(strikes), Some(client)) = (wrong, strikes, client) {
        strikes.fail(client, now);
    }
    result
}

/// What a wrong token is told; only these count as failures (a missing token is no guess).
const WRONG_TOKEN: &str = "the bearer token is not valid";

fn check(request: &HttpRequest, expected: &str) -> Result<Authorized, ApiError> {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    match presented {
        None => Err(ApiError::Unauthorized(
            "this endpoint needs an \"Authorization: Bearer <token>\" header (the server's API_TOKEN)",
        )),
        Some(token) if tokens_match(token, expected) => Ok(Authorized),
        Some(_) => Err(ApiError::Unauthorized(WRONG_TOKEN)),
    }
}

/// Constant time whatever the lengths: both tokens are hashed to 32 bytes first, so the
/// comparison stops neither at the first wrong byte nor at a length mismatch, and tells an
/// attacker nothing about a guess. Surrounding whitespace (a token file's newline) is
/// ignored on both sides alike.
fn tokens_match(presented: &str, expected: &str) -> bool {
    let digest = |token: &str| Sha256::digest(token.trim().as_bytes());
    digest(presented).ct_eq(&digest(expected)).into()
}

/// A browser tells where a request comes from: a page of another site (a `<form>` posting
/// here, a script) must not start or cancel loads, token or not (a browser may hold no
/// token, but an open API needs this more, not less). Requests without these headers
/// (curl, programs) are not browsers' and pass. The origin is compared with the host the
/// client asked for (behind a trusted proxy, the one the proxy forwards).
fn same_site(request: &HttpRequest, proxies: &TrustedProxies) -> Result<(), ApiError> {
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if header(header::HeaderName::from_static("sec-fetch-site")).as_deref() == Some("cross-site") {
        return Err(ApiError::Forbidden(
            "cross-site requests may not change anything here (Sec-Fetch-Site: cross-site)".into(),
        ));
    }
    if let Some(origin) = header(header::ORIGIN) {
        let host = proxies.requested_host(request).unwrap_or_default();
        let origin_host = origin
            .split_once("://")
            .map_or(origin.as_str(), |(_, rest)| rest);
        if origin_host != host {
            return Err(ApiError::Forbidden(format!(
                "requests from another origin ({origin}) may not change anything here"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_alike_whatever_their_whitespace_or_length() {
        assert!(tokens_match("s3cret", "s3cret\n"));
        assert!(tokens_match(" s3cret", "s3cret"));
        assert!(!tokens_match("s3cre", "s3cret"));
        assert!(!tokens_match("s3cret-and-more", "s3cret"));
        assert!(!tokens_match("", "s3cret"));
    }
}
