//! Bearer-token check for the endpoints that change things.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::problem::ApiError;

/// The configured token; `None` leaves the API open (for a local setup).
#[derive(Clone, Debug)]
pub struct ApiToken(pub Option<SecretString>);

/// Proof that the request may change things: present as a handler argument, it makes the
/// handler answer 401 unless the request carries `Authorization: Bearer <API_TOKEN>`.
#[derive(Debug)]
pub struct Authorized;

impl FromRequest for Authorized {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let expected = request
            .app_data::<web::Data<ApiToken>>()
            .and_then(|token| token.0.as_ref().map(|t| t.expose_secret().to_owned()));
        ready(check(request, expected.as_deref()))
    }
}

fn check(request: &HttpRequest, expected: Option<&str>) -> Result<Authorized, ApiError> {
    let Some(expected) = expected else {
        return Ok(Authorized);
    };
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
        // Constant time: the comparison does not tell an attacker how much of a guess was right.
        Some(token) if bool::from(token.as_bytes().ct_eq(expected.as_bytes())) => Ok(Authorized),
        Some(_) => Err(ApiError::Unauthorized("the bearer token is not valid")),
    }
}
